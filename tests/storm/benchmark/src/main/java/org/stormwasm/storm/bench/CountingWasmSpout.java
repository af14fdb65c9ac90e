package org.stormwasm.storm.bench;

import java.util.Map;
import org.apache.storm.Config;
import org.apache.storm.spout.SpoutOutputCollector;
import org.apache.storm.task.TopologyContext;
import org.stormwasm.storm.WasmSpout;

/**
 * A {@link WasmSpout} that also counts, in its topology's {@link Counters}, the messages whose tuple trees were
 * acked or failed. The {@code flux} variant puts it in place of {@code WasmSpout} in the Flux file it runs (same
 * constructor), so the topology is the file's and only the counting is added.
 */
public class CountingWasmSpout extends WasmSpout {
    private static final long serialVersionUID = 1L;

    private transient Counters counters;

    /**
     * @param plugin the spout plugin, as in the Flux file
     * @param outputFields the fields of its default stream
     */
    public CountingWasmSpout(String plugin, String... outputFields) {
        super(plugin, outputFields);
    }

    @Override
    public void open(Map<String, Object> topoConf, TopologyContext context, SpoutOutputCollector collector) {
        counters = Counters.of((String) topoConf.get(Config.TOPOLOGY_NAME));
        super.open(topoConf, context, collector);
    }

    @Override
    public void ack(Object msgId) {
        counters.acked.increment();
        super.ack(msgId);
    }

    @Override
    public void fail(Object msgId) {
        counters.failed.increment();
        super.fail(msgId);
    }
}
