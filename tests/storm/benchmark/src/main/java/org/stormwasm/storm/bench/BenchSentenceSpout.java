package org.stormwasm.storm.bench;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.storm.spout.SpoutOutputCollector;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.OutputFieldsDeclarer;
import org.apache.storm.topology.base.BaseRichSpout;
import org.apache.storm.tuple.Fields;
import org.apache.storm.tuple.Values;

/**
 * The spout of every variant: emits the five storm-starter sentences round robin, each with a message id, as fast as
 * {@code topology.max.spout.pending} lets it, and records acks, fails and complete latency in {@link Counters}.
 * Failed tuples are counted, not replayed: a benchmark wants them visible, not hidden by retries.
 */
public class BenchSentenceSpout extends BaseRichSpout {
    private static final long serialVersionUID = 1L;

    /** The sentences of sentence_spout.wasm and storm-starter's RandomSentenceSpout. */
    static final List<String> SENTENCES = List.of(
        "the cow jumped over the moon",
        "an apple a day keeps the doctor away",
        "four score and seven years ago",
        "snow white and the seven dwarfs",
        "i am at two with nature");

    private final String topology;
    private transient SpoutOutputCollector collector;
    private transient Counters counters;
    /** Message id to emit time. ack, fail and nextTuple all run on the spout's executor thread. */
    private transient Map<Long, Long> emitted;
    private transient long next;

    /**
     * @param topology the topology name, the key of its {@link Counters}
     */
    public BenchSentenceSpout(String topology) {
        this.topology = topology;
    }

    @Override
    public void open(Map<String, Object> conf, TopologyContext context, SpoutOutputCollector collector) {
        this.collector = collector;
        this.counters = Counters.of(topology);
        this.emitted = new HashMap<>();
    }

    @Override
    public void nextTuple() {
        long id = next++;
        emitted.put(id, System.nanoTime());
        collector.emit(new Values(SENTENCES.get((int) (id % SENTENCES.size()))), id);
    }

    @Override
    public void ack(Object msgId) {
        Long start = emitted.remove(msgId);
        if (start != null) {
            counters.completeNanos.add(System.nanoTime() - start);
        }
        counters.acked.increment();
    }

    @Override
    public void fail(Object msgId) {
        emitted.remove(msgId);
        counters.failed.increment();
    }

    @Override
    public void declareOutputFields(OutputFieldsDeclarer declarer) {
        declarer.declare(new Fields("sentence"));
    }
}
