package org.stormwasm.storm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.storm.generated.StormTopology;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.TopologyBuilder;
import org.apache.storm.tuple.Fields;

/**
 * A real {@link TopologyContext} for a small topology, built without a cluster:
 * sentences (spout, task 2) → split (tasks 3, 4; shuffle) → count (task 1; fields "word"),
 * and split's direct stream "direct" → sink (task 5).
 */
final class TestContexts {
    private TestContexts() {
    }

    static StormTopology topology() {
        TopologyBuilder builder = new TopologyBuilder();
        builder.setSpout("sentences", new WasmSpout("sentence_spout.wasm", "sentence"));
        builder.setBolt("split", new WasmBolt("split_sentence.wasm", "word").withStream("direct", true, "value"), 2)
            .shuffleGrouping("sentences");
        builder.setBolt("count", new WasmBolt("word_count.wasm", "word", "count"))
            .fieldsGrouping("split", new Fields("word"));
        builder.setBolt("sink", new WasmBolt("sink.wasm")).directGrouping("split", "direct");
        return builder.createTopology();
    }

    /** The context of task {@code taskId} (3 = split) with the given conf, code dir and pid dir. */
    static TopologyContext context(int taskId, Map<String, Object> conf, String codeDir, String pidDir) {
        Map<Integer, String> taskToComponent = new HashMap<>();
        taskToComponent.put(1, "count");
        taskToComponent.put(2, "sentences");
        taskToComponent.put(3, "split");
        taskToComponent.put(4, "split");
        taskToComponent.put(5, "sink");
        Map<String, List<Integer>> componentToTasks = new TreeMap<>();
        taskToComponent.forEach((task, comp) ->
            componentToTasks.computeIfAbsent(comp, c -> new ArrayList<>()).add(task));
        Map<String, Map<String, Fields>> streamFields = new HashMap<>();
        streamFields.put("sentences", Map.of("default", new Fields("sentence")));
        streamFields.put("split", Map.of("default", new Fields("word"), "direct", new Fields("value")));
        streamFields.put("count", Map.of("default", new Fields("word", "count")));
        streamFields.put("sink", Map.of());
        return new TopologyContext(topology(), conf, taskToComponent, componentToTasks, streamFields, new HashMap<>(),
            "test-topology-1", codeDir, pidDir, taskId, 6700, List.of(taskId), new HashMap<>(), new HashMap<>(),
            new HashMap<>(), new HashMap<>(), new AtomicBoolean(false), null);
    }
}
