package org.stormwasm.storm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.storm.Config;
import org.apache.storm.LocalCluster;
import org.apache.storm.flux.FluxBuilder;
import org.apache.storm.flux.model.ExecutionContext;
import org.apache.storm.flux.model.TopologyDef;
import org.apache.storm.flux.parser.FluxParser;
import org.apache.storm.generated.StormTopology;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Flux example shipped in the SDK jar (flux/word-count.yaml), parsed with environment substitution for
 * ${ENV-STORM_WASM_PLUGINS} and run on a LocalCluster. Its YAML names no binary, so the workers find the host
 * through the STORM_WASM_BIN environment variable.
 */
@ExtendWith(JvmExitReporter.class)
@Timeout(value = 150)
class FluxWordCountIT {
    private static final int LIMIT = 20;

    @Test
    void fluxExampleRuns() throws Exception {
        Wasm.assumeConfigured();
        TopologyDef def = FluxParser.parseResource("/flux/word-count.yaml", false, true, new Properties(), true);
        assertEquals(List.of("sentences"), def.getSpouts().stream().map(s -> s.getId()).collect(Collectors.toList()));
        assertEquals(List.of("split", "count"),
            def.getBolts().stream().map(b -> b.getId()).collect(Collectors.toList()));
        Config conf = FluxBuilder.buildConfig(def);
        Wasm.common(conf);
        conf.put("sentence.spout.limit", LIMIT);
        StormTopology topology = FluxBuilder.buildTopology(new ExecutionContext(def, conf));

        String name = def.getName();
        String doneLog = "all " + LIMIT + " messages acked";
        try (LocalCluster cluster = new LocalCluster()) {
            cluster.submitTopology(name, conf, topology);
            Wasm.await("the log '" + doneLog + "' from the Flux topology", Duration.ofSeconds(90),
                () -> RecordingLogHandler.messages(name).contains(doneLog),
                () -> "logs=" + RecordingLogHandler.messages(name));
            Wasm.kill(cluster, name);
        }
    }
}
