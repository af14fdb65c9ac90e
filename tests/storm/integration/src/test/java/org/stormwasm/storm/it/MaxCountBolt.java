package org.stormwasm.storm.it;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.storm.task.OutputCollector;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.OutputFieldsDeclarer;
import org.apache.storm.topology.base.BaseRichBolt;
import org.apache.storm.tuple.Tuple;

/** Records the largest "count" seen for each "word", per test key (several topologies share the JVM). */
public class MaxCountBolt extends BaseRichBolt {
    static final Map<String, Map<String, Long>> COUNTS = new ConcurrentHashMap<>();

    private final String key;
    private transient OutputCollector collector;

    MaxCountBolt(String key) {
        this.key = key;
    }

    static Map<String, Long> counts(String key) {
        return COUNTS.computeIfAbsent(key, k -> new ConcurrentHashMap<>());
    }

    @Override
    public void prepare(Map<String, Object> topoConf, TopologyContext context, OutputCollector collector) {
        this.collector = collector;
    }

    @Override
    public void execute(Tuple tuple) {
        // JSON delivers the count as Integer, MessagePack as Long.
        long count = ((Number) tuple.getValueByField("count")).longValue();
        counts(key).merge(tuple.getStringByField("word"), count, Math::max);
        collector.ack(tuple);
    }

    @Override
    public void declareOutputFields(OutputFieldsDeclarer declarer) {
    }
}
