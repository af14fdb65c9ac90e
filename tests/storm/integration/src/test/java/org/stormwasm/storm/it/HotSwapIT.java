package org.stormwasm.storm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.storm.Config;
import org.apache.storm.DaemonConfig;
import org.apache.storm.LocalCluster;
import org.apache.storm.blobstore.AtomicOutputStream;
import org.apache.storm.blobstore.BlobStoreAclHandler;
import org.apache.storm.blobstore.ClientBlobStore;
import org.apache.storm.generated.SettableBlobMeta;
import org.apache.storm.testing.AckFailMapTracker;
import org.apache.storm.testing.FeederSpout;
import org.apache.storm.topology.TopologyBuilder;
import org.apache.storm.tuple.Fields;
import org.apache.storm.tuple.Values;
import org.apache.storm.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.stormwasm.storm.WasmBolt;
import org.stormwasm.storm.WasmComponent;

/**
 * Hot swap under Storm: a FeederSpout feeds words to the stateful swap-counter plugin ((word) → (word, count,
 * version)) while a new version is published, first by renaming a file into place, then the way an operator does
 * on a cluster: the plugin is a blob of the blob store mapped into the workers with {@code topology.blobstore.map},
 * replaced like {@code storm blobstore update} does. Every fed word must be acked, its count must go on where the
 * old version stopped (the state is carried over), and the host's swap count must reach the topology's metrics
 * consumer.
 */
@ExtendWith(JvmExitReporter.class)
@Timeout(value = 240)
class HotSwapIT {
    private static final List<String> WORDS = List.of("a", "b", "c", "d", "e");
    private static final String COUNTER = "counter";

    private static LocalCluster cluster;
    /** The port of the LocalCluster's Nimbus Thrift server. */
    private static int nimbusPort;

    @BeforeAll
    static void startCluster() throws Exception {
        if (Wasm.configured()) {
            try (ServerSocket socket = new ServerSocket(0)) {
                nimbusPort = socket.getLocalPort();
            }
            cluster = new LocalCluster.Builder()
                // LocalCluster's own Nimbus client refuses blobs ("BLOBS NOT SUPPORTED IN LOCAL MODE"); with a
                // Thrift server the blob commands reach the real Nimbus, as `storm blobstore` does on a cluster.
                .withNimbusDaemon()
                .withDaemonConf(Config.NIMBUS_THRIFT_PORT, nimbusPort)
                // The supervisor checks the blob store for new versions of the topology's blobs every second (30 s
                // by default); the rest of the blob path is Storm's own.
                .withDaemonConf(DaemonConfig.SUPERVISOR_LOCALIZER_UPDATE_BLOB_INTERVAL_SECS, 1)
                .build();
        }
    }

    /**
     * What {@code storm blobstore create|update} runs (org.apache.storm.command.Blobstore): the configured client
     * blob store, a NimbusBlobStore talking Thrift to Nimbus.
     */
    private static void withBlobStore(ClientBlobStore.WithBlobstore action) throws Exception {
        Map<String, Object> conf = Utils.readStormConfig();
        conf.put(Config.NIMBUS_SEEDS, List.of("localhost"));
        conf.put(Config.NIMBUS_THRIFT_PORT, nimbusPort);
        try (ClientBlobStore store = Utils.getClientBlobStore(conf)) {
            action.run(store);
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

    @Test
    void aPluginRenamedIntoPlaceIsSwappedCountedAndLosesNothing() throws Exception {
        String name = "swap-file-json";
        Path dir = Files.createTempDirectory("storm-wasm-hotswap");
        Path plugin = dir.resolve("counter.wasm");
        publish(plugin, Files.readAllBytes(Path.of(Wasm.plugin("swap_counter.wasm"))));
        Run run = new Run(name);
        Config conf = run.conf(Wasm.JSON);
        WasmBolt counter = new WasmBolt(plugin.toString(), "word", "count", "version");
        cluster.submitTopology(name, conf, run.topology(counter, 1));
        try {
            run.round(10);
            assertEquals(List.of("1.0.0"), run.versions(), "before the swap");

            publish(plugin, Files.readAllBytes(Path.of(Wasm.plugin("swap_counter_v2.wasm"))));
            run.untilEveryWordIsServedBy("2.0.0");
            run.awaitMetric(WasmComponent.SWAPS_METRIC, 1);

            // A file that is not a plugin is refused; version 2 keeps serving. The task sees the refusal
            // between two batches, so words keep flowing meanwhile.
            publish(plugin, "not a wasm component".getBytes());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (RecordingMetricsConsumer.sum(name, COUNTER, WasmComponent.REFUSED_METRIC) < 1) {
                assertTrue(System.nanoTime() < deadline, "no refusal counted: " + run.metrics());
                run.round(5);
            }
            run.round(10);
            run.assertNothingLostAndCountsCarried();
            assertEquals(1, RecordingMetricsConsumer.sum(name, COUNTER, WasmComponent.SWAPS_METRIC), run.metrics());
            assertEquals(1, RecordingMetricsConsumer.sum(name, COUNTER, WasmComponent.REFUSED_METRIC), run.metrics());
            assertEquals(0, RecordingMetricsConsumer.sum(name, COUNTER, WasmComponent.ROLLBACKS_METRIC),
                run.metrics());
        } finally {
            Wasm.kill(cluster, name);
            Files.deleteIfExists(plugin);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void aBlobStoreUpdateReachesEveryTaskAsASwap() throws Exception {
        String name = "swap-blob-msgpack";
        String key = "swap-counter-plugin";
        byte[] v1 = Files.readAllBytes(Path.of(Wasm.plugin("swap_counter.wasm")));
        byte[] v2 = Files.readAllBytes(Path.of(Wasm.plugin("swap_counter_v2.wasm")));
        withBlobStore(store -> write(store.createBlob(key,
            new SettableBlobMeta(BlobStoreAclHandler.WORLD_EVERYTHING)), v1));
        Run run = new Run(name);
        Config conf = run.conf(Wasm.MSGPACK);
        conf.put(Config.TOPOLOGY_BLOBSTORE_MAP, Map.of(key, Map.of("localname", "counter.wasm")));
        // Only the blob mapping makes "counter.wasm" exist on the worker: it is not in the topology's resources nor
        // in the working directory. WasmCommand.resolvePlugin finds the supervisor's link
        // (supervisor/stormdist/<topology-id>/counter.wasm, into its blob cache), and the host watches that link.
        assertTrue(!Files.exists(Path.of("counter.wasm")), "a counter.wasm in the working directory would be used");
        // Two tasks, each counting its own words: each must swap.
        cluster.submitTopology(name, conf, run.topology(new WasmBolt("counter.wasm", "word", "count", "version"), 2));
        try {
            run.round(10);
            assertEquals(List.of("1.0.0"), run.versions(), "before the update");

            withBlobStore(store -> write(store.updateBlob(key), v2));
            run.untilEveryWordIsServedBy("2.0.0");
            run.round(10);
            run.assertNothingLostAndCountsCarried();
            run.awaitMetric(WasmComponent.SWAPS_METRIC, 2);
            assertEquals(0, RecordingMetricsConsumer.sum(name, COUNTER, WasmComponent.REFUSED_METRIC), run.metrics());
            assertTrue(RecordingLogHandler.messages(name).stream().anyMatch(m -> m.contains("swapped")),
                "the host logged the swap: " + RecordingLogHandler.messages(name));
        } finally {
            Wasm.kill(cluster, name);
        }
    }

    /** Publishes {@code bytes} as {@code path} the safe way: written beside it, then renamed over it. */
    private static void publish(Path path, byte[] bytes) throws IOException {
        Path tmp = path.resolveSibling("." + path.getFileName() + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void write(AtomicOutputStream out, byte[] bytes) throws IOException {
        try {
            out.write(bytes);
            out.close();
        } catch (IOException | RuntimeException e) {
            out.cancel();
            throw e;
        }
    }

    /** One topology: feeder → counter (the plugin) → sink, and what went through it. */
    private static final class Run {
        private final String name;
        private final FeederSpout feeder = new FeederSpout(new Fields("word"));
        private final AckFailMapTracker tracker = new AckFailMapTracker();
        private final List<String> ids = new ArrayList<>();
        private final Map<String, Long> fed = new TreeMap<>();

        Run(String name) {
            this.name = name;
            feeder.setAckFailDelegate(tracker);
        }

        Config conf(String serializer) {
            Config conf = Wasm.conf(serializer);
            // The host's metrics are CountShellMetrics in buckets of this many seconds (60 by default).
            conf.put(Config.TOPOLOGY_BUILTIN_METRICS_BUCKET_SIZE_SECS, 1);
            conf.registerMetricsConsumer(RecordingMetricsConsumer.class, name, 1);
            return conf;
        }

        org.apache.storm.generated.StormTopology topology(WasmBolt counter, int tasks) {
            TopologyBuilder builder = new TopologyBuilder();
            builder.setSpout("feeder", feeder);
            builder.setBolt(COUNTER, counter, tasks).fieldsGrouping("feeder", new Fields("word"));
            builder.setBolt("sink", new CollectingBolt(name)).shuffleGrouping(COUNTER);
            return builder.createTopology();
        }

        /** Feeds {@code n} words and waits until the counter acked (or failed) each and the sink has its output. */
        void round(int n) throws InterruptedException {
            List<String> sent = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String word = WORDS.get(ids.size() % WORDS.size());
                String id = name + "-" + ids.size();
                ids.add(id);
                sent.add(id);
                fed.merge(word, 1L, Long::sum);
                feeder.feed(new Values(word), id);
            }
            Wasm.await(n + " words acked or failed and counted", Duration.ofSeconds(60),
                () -> sent.stream().allMatch(id -> tracker.isAcked(id) || tracker.isFailed(id))
                    && CollectingBolt.received(name).size() >= ids.size(),
                this::state);
        }

        /** Feeds words until the newest count of every word comes from {@code version}. */
        void untilEveryWordIsServedBy(String version) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (!latestVersions().values().stream().allMatch(version::equals)
                || latestVersions().size() < WORDS.size()) {
                assertTrue(System.nanoTime() < deadline, "version " + version + " did not take over: " + state());
                Thread.sleep(100);
                round(5);
            }
        }

        void awaitMetric(String metric, long expected) throws InterruptedException {
            Wasm.await(metric + " = " + expected + " at the metrics consumer", Duration.ofSeconds(60),
                () -> RecordingMetricsConsumer.sum(name, COUNTER, metric) >= expected, this::metrics);
            assertEquals(expected, RecordingMetricsConsumer.sum(name, COUNTER, metric), metrics());
        }

        /** The counter's output: (word, count, version), sorted by word then count. */
        private List<List<Object>> outputs() {
            return CollectingBolt.received(name).stream()
                .map(CollectingBolt.Received::values)
                .sorted(Comparator.comparing((List<Object> v) -> (String) v.get(0))
                    .thenComparingLong(v -> ((Number) v.get(1)).longValue()))
                .collect(Collectors.toList());
        }

        /** Distinct versions in the output so far. */
        List<Object> versions() {
            return outputs().stream().map(v -> v.get(2)).distinct().sorted().collect(Collectors.toList());
        }

        /** The version that served the highest count of each word. */
        private Map<String, Object> latestVersions() {
            Map<String, Object> latest = new TreeMap<>();
            outputs().forEach(v -> latest.put((String) v.get(0), v.get(2)));
            return latest;
        }

        /**
         * Every word fed was acked and none failed; each word's counts are exactly 1..fed, each once, so no tuple
         * was lost or counted twice and the new version went on from the old one's state; per word, version 1
         * served the first counts and version 2 the rest.
         */
        void assertNothingLostAndCountsCarried() {
            List<String> notAcked = ids.stream().filter(id -> !tracker.isAcked(id)).collect(Collectors.toList());
            assertTrue(notAcked.isEmpty(), "not acked: " + notAcked + "; " + state());
            List<List<Object>> out = outputs();
            assertEquals(ids.size(), out.size(), "one output per word fed: " + state());
            for (String word : fed.keySet()) {
                List<List<Object>> ofWord = out.stream().filter(v -> v.get(0).equals(word)).toList();
                List<Long> counts = ofWord.stream().map(v -> ((Number) v.get(1)).longValue()).toList();
                assertEquals(LongStream.rangeClosed(1, fed.get(word)).boxed().toList(), counts,
                    "the counts of " + word + " across the swap");
                List<Object> versions = ofWord.stream().map(v -> v.get(2)).toList();
                int firstV2 = versions.indexOf("2.0.0");
                assertTrue(firstV2 > 0, word + ": served by 1.0.0, then 2.0.0: " + versions);
                assertTrue(versions.subList(0, firstV2).stream().allMatch("1.0.0"::equals)
                    && versions.subList(firstV2, versions.size()).stream().allMatch("2.0.0"::equals),
                    word + ": no tuple went back to the old version: " + versions);
            }
        }

        String metrics() {
            return WasmComponent.HOST_METRICS.stream()
                .map(m -> m + "=" + RecordingMetricsConsumer.sum(name, COUNTER, m))
                .collect(Collectors.joining(", "));
        }

        private String state() {
            long acked = ids.stream().filter(tracker::isAcked).count();
            long failed = ids.stream().filter(tracker::isFailed).count();
            return "fed=" + ids.size() + " acked=" + acked + " failed=" + failed + " outputs="
                + CollectingBolt.received(name).size() + " latest=" + latestVersions() + " metrics: " + metrics()
                + " logs=" + RecordingLogHandler.messages(name);
        }
    }
}
