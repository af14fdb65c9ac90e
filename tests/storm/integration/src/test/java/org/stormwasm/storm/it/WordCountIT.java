package org.stormwasm.storm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.storm.Config;
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
 * All-WebAssembly word count: sentence_spout → split_sentence (2 tasks, shuffle) → word_count (2 tasks, fields
 * grouping on "word") → a Java bolt keeping the largest count per word. Run once with Storm's JSON serializer and
 * once with the MessagePack one, on one LocalCluster.
 */
@ExtendWith(JvmExitReporter.class)
@Timeout(value = 150)
class WordCountIT {
    /** What sentence_spout emits: sentence i % 5 for i = 0, 1, 2, ... */
    static final List<String> SENTENCES = List.of(
        "the cow jumped over the moon",
        "an apple a day keeps the doctor away",
        "four score and seven years ago",
        "snow white and the seven dwarfs",
        "i am at two with nature");
    static final int LIMIT = 100;

    private static LocalCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        if (Wasm.configured()) {
            cluster = new LocalCluster();
        }
    }

    @BeforeEach
    void needsTheHost() {
        Wasm.assumeConfigured();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** Word counts after the first {@code limit} sentences. */
    static Map<String, Long> expectedCounts(int limit) {
        return IntStream.range(0, limit)
            .mapToObj(i -> SENTENCES.get(i % SENTENCES.size()))
            .flatMap(s -> List.of(s.split(" ")).stream())
            .collect(Collectors.groupingBy(w -> w, TreeMap::new, Collectors.counting()));
    }

    @Test
    void wordCountWithJson() throws Exception {
        runWordCount("wc-json", Wasm.JSON);
    }

    @Test
    void wordCountWithMessagePack() throws Exception {
        runWordCount("wc-msgpack", Wasm.MSGPACK);
    }

    private void runWordCount(String name, String serializer) throws Exception {
        TopologyBuilder builder = new TopologyBuilder();
        builder.setSpout("sentences", new RecordingWasmSpout(name, Wasm.plugin("sentence_spout.wasm"), "sentence")
            .withConf("sentence.spout.limit", LIMIT));
        builder.setBolt("split", new WasmBolt(Wasm.plugin("split_sentence.wasm"), "word"), 2)
            .shuffleGrouping("sentences");
        builder.setBolt("count", new WasmBolt(Wasm.plugin("word_count.wasm"), "word", "count"), 2)
            .fieldsGrouping("split", new Fields("word"));
        builder.setBolt("collect", new MaxCountBolt(name)).globalGrouping("count");
        Config conf = Wasm.conf(serializer);

        long start = System.nanoTime();
        cluster.submitTopology(name, conf, builder.createTopology());
        try {
            Map<String, Long> expected = expectedCounts(LIMIT);
            Set<String> allIds = IntStream.range(0, LIMIT).mapToObj(String::valueOf).collect(Collectors.toSet());
            String doneLog = "all " + LIMIT + " messages acked";
            Wasm.await("the word counts, the acks of ids 0.." + (LIMIT - 1) + " and the log '" + doneLog + "'",
                Duration.ofSeconds(120),
                () -> MaxCountBolt.counts(name).equals(expected)
                    && RecordingWasmSpout.acked(name).containsAll(allIds)
                    && RecordingLogHandler.messages(name).contains(doneLog),
                () -> "counts=" + new TreeMap<>(MaxCountBolt.counts(name)) + " expected=" + expected
                    + " acked=" + RecordingWasmSpout.acked(name).size() + " failed=" + RecordingWasmSpout.failed(name)
                    + " logs=" + RecordingLogHandler.messages(name));
            System.out.printf("%s: %d sentences counted and acked in %.1f s%n", name, LIMIT,
                (System.nanoTime() - start) / 1e9);
            assertEquals(allIds, RecordingWasmSpout.acked(name), "exactly the ids 0.." + (LIMIT - 1) + " are acked");
            assertTrue(RecordingWasmSpout.failed(name).isEmpty(), "failed: " + RecordingWasmSpout.failed(name));
        } finally {
            Wasm.kill(cluster, name);
        }
    }
}
