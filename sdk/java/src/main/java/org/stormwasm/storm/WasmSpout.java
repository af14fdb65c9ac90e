package org.stormwasm.storm;

import java.util.Map;
import org.apache.storm.spout.ShellSpout;
import org.apache.storm.spout.SpoutOutputCollector;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.IRichSpout;

/**
 * A spout implemented by a WebAssembly plugin, run by the storm-wasm host as a multi-lang subprocess.
 *
 * <pre>
 * builder.setSpout("sentences", new WasmSpout("/opt/plugins/sentence_spout.wasm", "sentence")
 *        .withConf("sentence.spout.limit", 100));
 * </pre>
 *
 * <p>In {@link #open} it locates the storm-wasm binary and the plugin exactly like {@link WasmBolt} and starts a
 * {@link ShellSpout} running {@code <binary> spout <plugin> --serializer auto}; every other call is forwarded to it.
 *
 * <p>Beware: when the subprocess misbehaves (exits, times out, sends an unknown command or an ack/fail), Storm's
 * ShellSpout calls {@code System.exit}, also in local mode, so a LocalCluster test JVM ends with it.
 */
public class WasmSpout extends WasmComponent<WasmSpout> implements IRichSpout {
    private static final long serialVersionUID = 1L;

    private transient ShellSpout delegate;

    /**
     * A spout that declares its streams with {@link #withStream}.
     *
     * @param plugin the {@code .wasm} plugin
     */
    public WasmSpout(String plugin) {
        super(plugin);
    }

    /**
     * @param plugin       the {@code .wasm} plugin: an absolute path present on every worker host, or a path relative
     *                     to the topology's {@code resources/} directory
     * @param outputFields the fields of the default stream
     */
    public WasmSpout(String plugin, String... outputFields) {
        super(plugin, outputFields);
    }

    /**
     * Starts the storm-wasm subprocess.
     *
     * @throws IllegalStateException when the binary or the plugin cannot be found; the message says what to set
     */
    @Override
    public void open(Map<String, Object> topoConf, TopologyContext context, SpoutOutputCollector collector) {
        ShellSpout spout = new ShellSpout(prepareCommand("spout", topoConf, context));
        spout.setEnv(env());
        spout.open(topoConf, context, collector);
        delegate = spout;
    }

    @Override
    public void close() {
        if (delegate != null) {
            delegate.close();
        }
    }

    @Override
    public void activate() {
        delegate.activate();
    }

    @Override
    public void deactivate() {
        delegate.deactivate();
    }

    @Override
    public void nextTuple() {
        delegate.nextTuple();
    }

    @Override
    public void ack(Object msgId) {
        delegate.ack(msgId);
    }

    @Override
    public void fail(Object msgId) {
        delegate.fail(msgId);
    }
}
