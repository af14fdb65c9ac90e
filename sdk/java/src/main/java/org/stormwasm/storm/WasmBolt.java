package org.stormwasm.storm;

import java.util.Map;
import org.apache.storm.task.OutputCollector;
import org.apache.storm.task.ShellBolt;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.IRichBolt;
import org.apache.storm.tuple.Tuple;

/**
 * A bolt implemented by a WebAssembly plugin, run by the storm-wasm host as a multi-lang subprocess.
 *
 * <pre>
 * builder.setBolt("split", new WasmBolt("/opt/plugins/split_sentence.wasm", "word"), 2)
 *        .shuffleGrouping("sentences");
 * </pre>
 *
 * <p>In {@link #prepare} it locates the storm-wasm binary ({@link WasmCommand#locateBinary}: topology configuration
 * key {@value WasmCommand#BINARY_CONF}, environment variable {@value WasmCommand#BINARY_ENV}, then PATH) and the
 * plugin ({@link WasmCommand#resolvePlugin}), registers the metrics given with {@link #withMetric}, and starts a
 * {@link ShellBolt} running {@code <binary> bolt <plugin> --serializer auto}; every other call is forwarded to it.
 * A ShellBolt's command is fixed when it is constructed, which is why the ShellBolt is created here and not when the
 * topology is built (the binary's location is known only on the worker).
 *
 * <p>Flux can build it directly: {@code className: org.stormwasm.storm.WasmBolt}, {@code constructorArgs: [plugin,
 * [field, ...]]}, {@code configMethods} {@code withStream}, {@code withConf}, {@code withMetric}, {@code withEnv}.
 */
public class WasmBolt extends WasmComponent<WasmBolt> implements IRichBolt {
    private static final long serialVersionUID = 1L;

    private transient ShellBolt delegate;

    /**
     * A bolt that declares no default stream (a sink, or one that declares streams with {@link #withStream}).
     *
     * @param plugin the {@code .wasm} plugin
     */
    public WasmBolt(String plugin) {
        super(plugin);
    }

    /**
     * @param plugin       the {@code .wasm} plugin: an absolute path present on every worker host, or a path relative
     *                     to the topology's {@code resources/} directory
     * @param outputFields the fields of the default stream
     */
    public WasmBolt(String plugin, String... outputFields) {
        super(plugin, outputFields);
    }

    /**
     * Starts the storm-wasm subprocess.
     *
     * @throws IllegalStateException when the binary or the plugin cannot be found; the message says what to set
     */
    @Override
    public void prepare(Map<String, Object> topoConf, TopologyContext context, OutputCollector collector) {
        ShellBolt bolt = new ShellBolt(prepareCommand("bolt", topoConf, context));
        bolt.setEnv(env());
        bolt.prepare(topoConf, context, collector);
        delegate = bolt;
    }

    @Override
    public void execute(Tuple input) {
        delegate.execute(input);
    }

    @Override
    public void cleanup() {
        if (delegate != null) {
            delegate.cleanup();
        }
    }
}
