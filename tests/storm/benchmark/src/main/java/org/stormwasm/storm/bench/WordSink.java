package org.stormwasm.storm.bench;

import java.util.Map;
import org.apache.storm.task.OutputCollector;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.OutputFieldsDeclarer;
import org.apache.storm.topology.base.BaseRichBolt;
import org.apache.storm.tuple.Tuple;

/**
 * The last bolt of every variant: counts the (word, count) tuples of the count bolt, so "words counted" is measured
 * the same way whatever runs the count bolt, and acks them to complete the tuple tree.
 */
public class WordSink extends BaseRichBolt {
    private static final long serialVersionUID = 1L;

    private final String topology;
    private transient OutputCollector collector;
    private transient Counters counters;

    /**
     * @param topology the topology name, the key of its {@link Counters}
     */
    public WordSink(String topology) {
        this.topology = topology;
    }

    @Override
    public void prepare(Map<String, Object> conf, TopologyContext context, OutputCollector collector) {
        this.collector = collector;
        this.counters = Counters.of(topology);
    }

    @Override
    public void execute(Tuple input) {
        counters.words.increment();
        collector.ack(input);
    }

    @Override
    public void declareOutputFields(OutputFieldsDeclarer declarer) {
    }
}
