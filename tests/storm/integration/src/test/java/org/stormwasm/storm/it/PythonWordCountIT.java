package org.stormwasm.storm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.storm.LocalCluster;
import org.apache.storm.topology.TopologyBuilder;
import org.apache.storm.tuple.Fields;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.stormwasm.storm.WasmBolt;

/**
 * The Python word-count plugin (py_word_count.wasm, the streamparse bolt built with the Python SDK) as the count bolt
 * of the LocalCluster word count, next to the Rust sentence spout and split bolt: sentence_spout → split_sentence
 * (2 tasks, shuffle) → py_word_count (2 tasks, fields grouping on "word") → a Java bolt keeping the largest count per
 * word. Skipped, saying so, when the plugin has not been built.
 */
@ExtendWith(JvmExitReporter.class)
@Timeout(value = 200)
class PythonWordCountIT {
    static final String PLUGIN = "py_word_count.wasm";

    private static LocalCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        if (Wasm.configured() && pluginBuilt()) {
            warmCompileCache();
            cluster = new LocalCluster();
        }
    }

    @BeforeEach
    void needsTheHostAndThePlugin() {
        Wasm.assumeConfigured();
        assumeTrue(pluginBuilt(), PLUGIN + " is not in " + Wasm.PLUGINS_ENV
            + " (the Python plugins are built by scripts/build-python-plugins.sh); skipping the Python word count.");
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static boolean pluginBuilt() {
        return Files.isRegularFile(Path.of(System.getenv(Wasm.PLUGINS_ENV), PLUGIN));
    }

    /**
     * What a deployment does once per supervisor: {@code storm-wasm compile}. A componentize-py plugin is about 20 MB
     * and takes seconds to compile; without this both count tasks would compile it at the same time on start.
     */
    private static void warmCompileCache() throws Exception {
        Path output = Files.createTempFile("storm-wasm-compile", ".txt");
        try {
            // Not inherited: the forked test JVM's own stdout is failsafe's channel.
            Process compile = new ProcessBuilder(System.getenv(Wasm.BIN_ENV), "compile", Wasm.plugin(PLUGIN))
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
            if (!compile.waitFor(150, TimeUnit.SECONDS)) {
                compile.destroyForcibly();
                fail("storm-wasm compile " + PLUGIN + " took over 150 s");
            }
            String text = Files.readString(output).strip();
            System.out.println(text);
            assertEquals(0, compile.exitValue(), "storm-wasm compile " + PLUGIN + " failed: " + text);
        } finally {
            Files.deleteIfExists(output);
        }
    }

    @Test
    void pythonCountBoltWithJson() throws Exception {
        runWordCount("py-wc-json", Wasm.JSON);
    }

    @Test
    void pythonCountBoltWithMessagePack() throws Exception {
        runWordCount("py-wc-msgpack", Wasm.MSGPACK);
    }

    private void runWordCount(String name, String serializer) throws Exception {
        int limit = WordCountIT.LIMIT;
        TopologyBuilder builder = new TopologyBuilder();
        builder.setSpout("sentences", new RecordingWasmSpout(name, Wasm.plugin("sentence_spout.wasm"), "sentence")
            .withConf("sentence.spout.limit", limit));
        builder.setBolt("split", new WasmBolt(Wasm.plugin("split_sentence.wasm"), "word"), 2)
            .shuffleGrouping("sentences");
        builder.setBolt("count", new WasmBolt(Wasm.plugin(PLUGIN), "word", "count"), 2)
            .fieldsGrouping("split", new Fields("word"));
        builder.setBolt("collect", new MaxCountBolt(name)).globalGrouping("count");

        long start = System.nanoTime();
        cluster.submitTopology(name, Wasm.conf(serializer), builder.createTopology());
        try {
            // The sentences contain no "dog" (which the streamparse bolt counts 10 times), so the counts are the
            // same as those of the Rust word_count.
            Map<String, Long> expected = WordCountIT.expectedCounts(limit);
            Set<String> allIds = IntStream.range(0, limit).mapToObj(String::valueOf).collect(Collectors.toSet());
            Wasm.await("the word counts and the acks of ids 0.." + (limit - 1), Duration.ofSeconds(150),
                () -> MaxCountBolt.counts(name).equals(expected)
                    && RecordingWasmSpout.acked(name).containsAll(allIds),
                () -> "counts=" + new TreeMap<>(MaxCountBolt.counts(name)) + " expected=" + expected
                    + " acked=" + RecordingWasmSpout.acked(name).size() + " failed=" + RecordingWasmSpout.failed(name));
            System.out.printf("%s: %d sentences counted by the Python bolt and acked in %.1f s%n", name, limit,
                (System.nanoTime() - start) / 1e9);
            assertEquals(allIds, RecordingWasmSpout.acked(name), "exactly the ids 0.." + (limit - 1) + " are acked");
            assertTrue(RecordingWasmSpout.failed(name).isEmpty(), "failed: " + RecordingWasmSpout.failed(name));
        } finally {
            Wasm.kill(cluster, name);
        }
    }
}
