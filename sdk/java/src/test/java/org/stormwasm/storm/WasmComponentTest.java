package org.stormwasm.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.storm.Config;
import org.apache.storm.generated.StreamInfo;
import org.apache.storm.metric.api.rpc.CountShellMetric;
import org.apache.storm.multilang.JsonSerializer;
import org.apache.storm.spout.SpoutOutputCollector;
import org.apache.storm.task.IOutputCollector;
import org.apache.storm.task.OutputCollector;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.OutputFieldsGetter;
import org.apache.storm.tuple.Tuple;
import org.apache.storm.utils.Utils;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WasmBolt/WasmSpout without a cluster: declarations, Java serialization, and prepare/open against a stand-in
 * "storm-wasm" shell script that answers the JSON handshake and records its command line.
 */
class WasmComponentTest {
    /** Records its arguments, answers the JSON handshake with its pid, then waits for stdin to close. */
    private static final String FAKE_HOST = String.join("\n",
        "#!/bin/sh",
        "printf '%s\\n' \"$@\" > \"$ARGS_FILE\"",
        "while read -r line; do [ \"$line\" = end ] && break; done",
        "echo \"{\\\"pid\\\": $$}\"",
        "echo end",
        "cat > /dev/null",
        "");

    /** Swallows everything (the ShellBolt's reader reports an error when cleanup() kills the subprocess). */
    private static final IOutputCollector NO_OUTPUT = new IOutputCollector() {
        @Override
        public List<Integer> emit(String streamId, Collection<Tuple> anchors, List<Object> tuple) {
            return List.of();
        }

        @Override
        public void emitDirect(int taskId, String streamId, Collection<Tuple> anchors, List<Object> tuple) {
        }

        @Override
        public void ack(Tuple input) {
        }

        @Override
        public void fail(Tuple input) {
        }

        @Override
        public void resetTimeout(Tuple input) {
        }

        @Override
        public void flush() {
        }

        @Override
        public void reportError(Throwable error) {
        }
    };

    @TempDir
    Path dir;
    private Path codeDir;
    private Path argsFile;
    private Map<String, Object> conf;

    @BeforeEach
    void setUp() throws IOException {
        codeDir = Files.createDirectories(dir.resolve("resources"));
        Files.writeString(codeDir.resolve("plugin.wasm"), "");
        Path host = Files.writeString(dir.resolve("storm-wasm"), FAKE_HOST);
        assertTrue(host.toFile().setExecutable(true));
        argsFile = dir.resolve("args.txt");
        conf = new HashMap<>();
        conf.put(WasmCommand.BINARY_CONF, host.toString());
        conf.put(Config.TOPOLOGY_MULTILANG_SERIALIZER, JsonSerializer.class.getName());
        conf.put(Config.TOPOLOGY_SUBPROCESS_TIMEOUT_SECS, 30);
        conf.put(Config.STORM_CLUSTER_MODE, "local"); // a dying ShellBolt must not System.exit the test JVM
    }

    private TopologyContext context() throws IOException {
        Path pidDir = Files.createDirectories(dir.resolve("pids"));
        return TestContexts.context(3, conf, codeDir.toString(), pidDir.toString());
    }

    private List<String> recordedArgs() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!Files.exists(argsFile) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return Files.readAllLines(argsFile);
    }

    @Test
    void declaresDefaultAndExtraStreams() {
        WasmBolt bolt = new WasmBolt("x.wasm", "word", "count").withStream("direct", true, "value");
        OutputFieldsGetter getter = new OutputFieldsGetter();
        bolt.declareOutputFields(getter);
        Map<String, StreamInfo> streams = getter.getFieldsDeclaration();
        assertEquals(List.of("word", "count"), streams.get(Utils.DEFAULT_STREAM_ID).get_output_fields());
        assertFalse(streams.get(Utils.DEFAULT_STREAM_ID).is_direct());
        assertEquals(List.of("value"), streams.get("direct").get_output_fields());
        assertTrue(streams.get("direct").is_direct());

        OutputFieldsGetter sink = new OutputFieldsGetter();
        new WasmBolt("sink.wasm").declareOutputFields(sink);
        assertTrue(sink.getFieldsDeclaration().isEmpty());
    }

    @Test
    void componentConfigurationAndJavaSerialization() {
        WasmSpout spout = new WasmSpout("s.wasm", "sentence").withConf("sentence.spout.limit", 100).withMetric("m");
        assertNull(new WasmSpout("s.wasm", "sentence").getComponentConfiguration());
        WasmSpout copy = (WasmSpout) Utils.javaDeserialize(Utils.javaSerialize(spout), WasmSpout.class);
        assertEquals(Map.of("sentence.spout.limit", 100), copy.getComponentConfiguration());
        assertEquals("s.wasm", copy.getPlugin());
    }

    @Test
    void blankPluginIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new WasmBolt(" ", "x"));
    }

    @Test
    void prepareStartsTheHostWithAbsolutePathsEnvAndMetrics() throws Exception {
        WasmBolt bolt = new WasmBolt("plugin.wasm", "word").withMetric("hits")
            .withEnv("ARGS_FILE", argsFile.toString());
        TopologyContext context = context();
        bolt.prepare(conf, context, new OutputCollector(NO_OUTPUT));
        try {
            assertEquals(List.of("bolt", codeDir.resolve("plugin.wasm").toString(), "--serializer", "auto",
                "--storm-metrics"), recordedArgs());
            assertInstanceOf(CountShellMetric.class, context.getRegisteredMetricByName("hits"));
            for (String name : WasmComponent.HOST_METRICS) {
                assertInstanceOf(CountShellMetric.class, context.getRegisteredMetricByName(name), name);
            }
        } finally {
            bolt.cleanup();
        }
    }

    @Test
    void openStartsTheHostAsASpout() throws Exception {
        WasmSpout spout = new WasmSpout(codeDir.resolve("plugin.wasm").toString(), "sentence")
            .withEnv("ARGS_FILE", argsFile.toString());
        spout.open(conf, context(), new SpoutOutputCollector(null));
        try {
            assertEquals("spout", recordedArgs().get(0));
        } finally {
            spout.close();
        }
    }

    @Test
    void prepareFailsNamingWhatToSet() throws Exception {
        conf.put(WasmCommand.BINARY_CONF, dir.resolve("missing").toString());
        WasmBolt bolt = new WasmBolt("plugin.wasm", "word");
        TopologyContext context = context();
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> bolt.prepare(conf, context, new OutputCollector(NO_OUTPUT)));
        assertTrue(e.getMessage().contains(WasmCommand.BINARY_CONF), e.getMessage());
        bolt.cleanup(); // nothing was started; must not throw
    }

    @Test
    void openFailsOnAMissingPlugin() throws Exception {
        WasmSpout spout = new WasmSpout("nope.wasm", "sentence");
        TopologyContext context = context();
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> spout.open(conf, context, new SpoutOutputCollector(null)));
        assertTrue(e.getMessage().contains("nope.wasm"), e.getMessage());
        spout.close();
    }

    @Test
    void anUnknownMetricClassFailsInPrepare() throws Exception {
        WasmBolt bolt = new WasmBolt("plugin.wasm").withMetric("m", "java.lang.String");
        TopologyContext context = context();
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> bolt.prepare(conf, context, new OutputCollector(NO_OUTPUT)));
        assertTrue(e.getMessage().contains("IShellMetric"), e.getMessage());
    }
}
