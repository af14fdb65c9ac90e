package org.stormwasm.storm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.storm.Config;
import org.apache.storm.flux.FluxBuilder;
import org.apache.storm.flux.model.ExecutionContext;
import org.apache.storm.flux.model.TopologyDef;
import org.apache.storm.flux.parser.FluxParser;
import org.apache.storm.generated.ComponentCommon;
import org.apache.storm.generated.StormTopology;
import org.apache.storm.generated.StreamInfo;
import org.apache.storm.shade.net.minidev.json.JSONValue;
import org.junit.jupiter.api.Test;

/**
 * Flux builds WasmSpout/WasmBolt from YAML (constructors and configMethods), without a cluster or the host binary.
 */
class FluxDefinitionTest {
    private static StormTopology build(String resource) throws Exception {
        TopologyDef def = FluxParser.parseResource(resource, false, true, new Properties(), false);
        Config conf = FluxBuilder.buildConfig(def);
        return FluxBuilder.buildTopology(new ExecutionContext(def, conf));
    }

    @Test
    void theExampleBuilds() throws Exception {
        StormTopology topology = build("/flux/word-count.yaml");
        assertEquals(List.of("sentence"),
            topology.get_spouts().get("sentences").get_common().get_streams().get("default").get_output_fields());
        ComponentCommon count = topology.get_bolts().get("count").get_common();
        assertEquals(List.of("word", "count"), count.get_streams().get("default").get_output_fields());
        assertEquals(2, count.get_parallelism_hint());
        assertTrue(count.get_inputs().values().iterator().next().is_set_fields());
    }

    /** The native worker's example (storm-wasm run) is plain Flux too: the same file runs on a cluster. */
    @Test
    void theNativeWorkerExampleIsFlux() throws Exception {
        Path yaml = Path.of(System.getProperty("basedir", ".")).resolve("../../../examples/word-count.yaml").normalize();
        TopologyDef def = FluxParser.parseFile(yaml.toString(), false, true, new Properties(), false);
        StormTopology topology = FluxBuilder.buildTopology(new ExecutionContext(def, FluxBuilder.buildConfig(def)));
        assertEquals(Set.of("sentences"), topology.get_spouts().keySet());
        assertEquals(Set.of("split", "count"), topology.get_bolts().keySet());
        ComponentCommon count = topology.get_bolts().get("count").get_common();
        assertTrue(count.get_inputs().values().iterator().next().is_set_fields());
        assertEquals(List.of("word", "count"), count.get_streams().get("default").get_output_fields());
    }

    @Test
    void configMethodsReachTheComponents() throws Exception {
        StormTopology topology = build("/flux/configured.yaml");
        ComponentCommon source = topology.get_spouts().get("source").get_common();
        Map<?, ?> sourceConf = (Map<?, ?>) JSONValue.parse(source.get_json_conf());
        assertEquals(10, ((Number) sourceConf.get("sentence.spout.limit")).intValue());

        Map<String, StreamInfo> streams = topology.get_bolts().get("worker").get_common().get_streams();
        assertEquals(List.of("value"), streams.get("default").get_output_fields());
        assertFalse(streams.get("default").is_direct());
        assertTrue(streams.get("direct").is_direct());
        assertEquals(List.of("a", "b"), streams.get("side").get_output_fields());
        assertTrue(topology.get_bolts().get("sink").get_common().get_streams().isEmpty());
    }
}
