package org.stormwasm.storm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.storm.LocalCluster;
import org.apache.storm.testing.AckFailMapTracker;
import org.apache.storm.testing.FeederSpout;
import org.apache.storm.topology.TopologyBuilder;
import org.apache.storm.tuple.Fields;
import org.apache.storm.tuple.Values;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.stormwasm.storm.WasmBolt;

/**
 * A Java FeederSpout drives test_bolt.wasm with commands: acks and fails reach the spout (JSON), and under
 * MessagePack a direct emit and the metrics command work.
 */
@ExtendWith(JvmExitReporter.class)
@Timeout(value = 150)
class FeederTestBoltIT {
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

    private static String describe(Map<String, String> commands, AckFailMapTracker tracker) {
        StringBuilder sb = new StringBuilder();
        commands.forEach((id, cmd) -> sb.append(id).append('=').append(tracker.isAcked(id) ? "acked"
            : tracker.isFailed(id) ? "failed" : "pending").append(' '));
        return sb.toString();
    }

    private static boolean allResolved(Map<String, String> commands, AckFailMapTracker tracker) {
        return commands.keySet().stream().allMatch(id -> tracker.isAcked(id) || tracker.isFailed(id));
    }

    @Test
    void failsAndAcksReachTheSpout() throws Exception {
        String name = "acks-json";
        FeederSpout feeder = new FeederSpout(new Fields("cmd"));
        AckFailMapTracker tracker = new AckFailMapTracker();
        feeder.setAckFailDelegate(tracker);
        TopologyBuilder builder = new TopologyBuilder();
        builder.setSpout("feeder", feeder);
        builder.setBolt("wasm", new WasmBolt(Wasm.plugin("test_bolt.wasm"), "value")).shuffleGrouping("feeder");
        builder.setBolt("sink", new CollectingBolt(name)).shuffleGrouping("wasm");
        cluster.submitTopology(name, Wasm.conf(Wasm.JSON), builder.createTopology());
        try {
            Map<String, String> commands = new LinkedHashMap<>();
            commands.put("a1", "hello");
            commands.put("f1", "fail");
            commands.put("a2", "log:hello from wasm");
            commands.put("f2", "failing on purpose");
            commands.put("a3", "x y z");
            commands.put("f3", "fail:3");
            commands.forEach((id, cmd) -> feeder.feed(new Values(cmd), id));

            Wasm.await("every command acked or failed", Duration.ofSeconds(60),
                () -> allResolved(commands, tracker), () -> describe(commands, tracker));
            commands.keySet().forEach(id -> {
                boolean shouldFail = commands.get(id).startsWith("fail");
                assertEquals(shouldFail, tracker.isFailed(id), id + " failed? " + describe(commands, tracker));
                assertEquals(!shouldFail, tracker.isAcked(id), id + " acked? " + describe(commands, tracker));
            });
            List<Object> emitted = new ArrayList<>(List.of("hello", "log:hello from wasm", "x y z"));
            Wasm.await("the emitted values at the sink", Duration.ofSeconds(10),
                () -> CollectingBolt.received(name).size() >= emitted.size(),
                () -> CollectingBolt.firstValues(name).toString());
            assertEquals(emitted.stream().sorted().toList(),
                CollectingBolt.firstValues(name).stream().map(String::valueOf).sorted().toList());
            assertTrue(RecordingLogHandler.messages(name).contains("hello from wasm"),
                "log command: " + RecordingLogHandler.messages(name));
        } finally {
            Wasm.kill(cluster, name);
        }
    }

    @Test
    void directEmitAndMetricsWithMessagePack() throws Exception {
        String name = "direct-msgpack";
        String directKey = name + "-direct";
        FeederSpout feeder = new FeederSpout(new Fields("cmd"));
        AckFailMapTracker tracker = new AckFailMapTracker();
        feeder.setAckFailDelegate(tracker);
        TopologyBuilder builder = new TopologyBuilder();
        builder.setSpout("feeder", feeder);
        builder.setBolt("wasm", new WasmBolt(Wasm.plugin("test_bolt.wasm"), "value")
                .withStream("direct", true, "value")
                .withMetric("wasm.hits", RecordingShellMetric.class.getName())
                .withMetric("wasm.count"))
            .shuffleGrouping("feeder");
        builder.setBolt("sink", new CollectingBolt(name)).shuffleGrouping("wasm");
        builder.setBolt("direct-sink", new CollectingBolt(directKey), 2).directGrouping("wasm", "direct");
        cluster.submitTopology(name, Wasm.conf(Wasm.MSGPACK), builder.createTopology());
        try {
            Wasm.await("both direct-sink tasks to be prepared", Duration.ofSeconds(60),
                () -> CollectingBolt.tasks(directKey).size() == 2, () -> CollectingBolt.tasks(directKey).toString());
            List<Integer> directTasks = new ArrayList<>(CollectingBolt.tasks(directKey));
            Map<String, String> commands = new LinkedHashMap<>();
            commands.put("d1", "direct:" + directTasks.get(0));
            commands.put("d2", "direct:" + directTasks.get(1));
            commands.put("m1", "metric:wasm.hits:5");
            commands.put("m2", "metric:wasm.hits:2");
            commands.put("m3", "metric:wasm.count:3");
            commands.put("p1", "plain");
            commands.forEach((id, cmd) -> feeder.feed(new Values(cmd), id));

            Wasm.await("every command acked", Duration.ofSeconds(60),
                () -> allResolved(commands, tracker), () -> describe(commands, tracker));
            commands.keySet().forEach(id -> assertTrue(tracker.isAcked(id), describe(commands, tracker)));
            assertEquals(7L, RecordingShellMetric.TOTAL.get(), "sum of the wasm.hits metric reports");

            Wasm.await("the direct tuples", Duration.ofSeconds(10),
                () -> CollectingBolt.received(directKey).size() >= 2,
                () -> CollectingBolt.received(directKey).toString());
            for (CollectingBolt.Received r : CollectingBolt.received(directKey)) {
                assertEquals("direct", r.stream());
                assertEquals(List.of("direct:" + r.task()), r.values(), "a direct tuple reached the task it named");
            }
            assertEquals(2, CollectingBolt.received(directKey).size(), CollectingBolt.received(directKey).toString());
            List<Object> defaults = CollectingBolt.firstValues(name);
            assertTrue(defaults.containsAll(List.of("metric:wasm.hits:5", "metric:wasm.hits:2",
                "metric:wasm.count:3", "plain")), defaults.toString());
            assertFalse(defaults.stream().anyMatch(v -> String.valueOf(v).startsWith("direct:")),
                "direct emits must not reach the default stream: " + defaults);
        } finally {
            Wasm.kill(cluster, name);
        }
    }
}
