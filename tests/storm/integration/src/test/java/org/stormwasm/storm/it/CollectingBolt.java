package org.stormwasm.storm.it;

import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;
import org.apache.storm.task.OutputCollector;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.OutputFieldsDeclarer;
import org.apache.storm.topology.base.BaseRichBolt;
import org.apache.storm.tuple.Tuple;

/** Records every tuple it receives (with its own task id and the source stream) per test key, and acks it. */
public class CollectingBolt extends BaseRichBolt {
    /** One received tuple. */
    record Received(int task, String stream, List<Object> values) {
    }

    static final Map<String, Queue<Received>> RECEIVED = new ConcurrentHashMap<>();
    static final Map<String, Set<Integer>> TASKS = new ConcurrentHashMap<>();

    private final String key;
    private transient OutputCollector collector;
    private transient int task;

    CollectingBolt(String key) {
        this.key = key;
    }

    static Queue<Received> received(String key) {
        return RECEIVED.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>());
    }

    static Set<Integer> tasks(String key) {
        return TASKS.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet());
    }

    /** The first value of every tuple received. */
    static List<Object> firstValues(String key) {
        return received(key).stream().map(r -> r.values().get(0)).collect(Collectors.toList());
    }

    @Override
    public void prepare(Map<String, Object> topoConf, TopologyContext context, OutputCollector collector) {
        this.collector = collector;
        this.task = context.getThisTaskId();
        tasks(key).add(task);
    }

    @Override
    public void execute(Tuple tuple) {
        received(key).add(new Received(task, tuple.getSourceStreamId(), List.copyOf(tuple.getValues())));
        collector.ack(tuple);
    }

    @Override
    public void declareOutputFields(OutputFieldsDeclarer declarer) {
    }
}
