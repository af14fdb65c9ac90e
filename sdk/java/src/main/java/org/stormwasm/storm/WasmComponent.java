package org.stormwasm.storm;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.storm.Config;
import org.apache.storm.metric.api.rpc.IShellMetric;
import org.apache.storm.metric.api.rpc.CountShellMetric;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.OutputFieldsDeclarer;
import org.apache.storm.tuple.Fields;
import org.apache.storm.utils.ObjectReader;
import org.apache.storm.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link WasmBolt} and {@link WasmSpout} share: the plugin, the declared streams, the component configuration,
 * the metrics the plugin reports and the environment of the subprocess. The fluent methods return the concrete type,
 * so {@code new WasmBolt("split.wasm", "word").withStream("direct", true, "value")} is a {@code WasmBolt}.
 *
 * <p>This class is public only because Flux invokes its {@code with*} methods by reflection (a public method
 * inherited from a non-public class cannot be invoked that way).
 *
 * @param <T> the concrete component type
 */
public abstract class WasmComponent<T extends WasmComponent<T>> implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(WasmComponent.class);

    /** The host's metric counting new plugin versions that took over (hot swaps), +1 per swap. */
    public static final String SWAPS_METRIC = "storm-wasm.swaps";
    /** The host's metric counting new versions rolled back after trapping on probation, +1 per rollback. */
    public static final String ROLLBACKS_METRIC = "storm-wasm.rollbacks";
    /** The host's metric counting new plugin files refused (did not compile, link, prepare or restore). */
    public static final String REFUSED_METRIC = "storm-wasm.refused";
    /**
     * The metrics the storm-wasm host itself reports, registered for every component as {@link CountShellMetric}s
     * (unless {@link #withMetric(String, String)} registers another class under the same name).
     */
    public static final List<String> HOST_METRICS = List.of(SWAPS_METRIC, ROLLBACKS_METRIC, REFUSED_METRIC);

    private final String plugin;
    /** Stream id to its declaration, in declaration order. */
    private final Map<String, StreamDef> streams = new LinkedHashMap<>();
    private final Map<String, Object> componentConf = new HashMap<>();
    /** Metric name to the IShellMetric class registered for it. */
    private final Map<String, String> metrics = new LinkedHashMap<>();
    private final Map<String, String> env = new HashMap<>();

    /**
     * @param plugin       the {@code .wasm} plugin: an absolute path present on every worker host, a path relative to
     *                     the topology's {@code resources/} directory, or the {@code localname} of a blob in
     *                     {@code topology.blobstore.map} (see {@link WasmCommand#resolvePlugin})
     * @param outputFields the fields of the default stream; none declares no default stream
     */
    protected WasmComponent(String plugin, String... outputFields) {
        if (plugin == null || plugin.isBlank()) {
            throw new IllegalArgumentException("plugin must name a .wasm file");
        }
        this.plugin = plugin;
        if (outputFields.length > 0) {
            streams.put(Utils.DEFAULT_STREAM_ID, new StreamDef(false, outputFields));
        }
    }

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    /** The plugin as given to the constructor. */
    public String getPlugin() {
        return plugin;
    }

    /**
     * Declares an output stream (replacing an earlier declaration of the same id, including the default stream).
     *
     * @param streamId the stream id
     * @param fields   its fields
     * @return this component
     */
    public T withStream(String streamId, String... fields) {
        return withStream(streamId, false, fields);
    }

    /**
     * Declares an output stream that may be direct ({@code emitDirect}; the plugin's emit carries a {@code task}).
     *
     * @param streamId the stream id
     * @param direct   whether the stream is a direct stream
     * @param fields   its fields
     * @return this component
     */
    public T withStream(String streamId, boolean direct, String... fields) {
        streams.put(streamId, new StreamDef(direct, fields));
        return self();
    }

    /**
     * Adds a component configuration entry, returned by {@code getComponentConfiguration()} and merged into the
     * {@code conf} the plugin receives. Storm drops component-level values of most keys defined in
     * {@link Config} (e.g. {@code topology.multilang.serializer}); custom keys such as {@code sentence.spout.limit}
     * pass through.
     *
     * @param key   the key
     * @param value the value (must be serializable)
     * @return this component
     */
    public T withConf(String key, Object value) {
        componentConf.put(key, value);
        return self();
    }

    /**
     * Registers a {@link CountShellMetric} under {@code name}, so the plugin can report it with the multi-lang
     * {@code metrics} command (params: a number to add, or nil for +1).
     *
     * <p>In Storm a {@code metrics} command naming a metric that was not registered on the Java side is fatal: the
     * ShellBolt/ShellSpout dies ("Could not find metric by name[...]"). Register every name the plugin reports.
     *
     * @param name the metric name the plugin uses
     * @return this component
     */
    public T withMetric(String name) {
        return withMetric(name, CountShellMetric.class.getName());
    }

    /**
     * Registers an instance of {@code shellMetricClass} (an {@link IShellMetric} with a public no-argument
     * constructor) under {@code name}; it is created in prepare/open.
     *
     * @param name             the metric name the plugin uses
     * @param shellMetricClass the fully qualified class name
     * @return this component
     */
    public T withMetric(String name, String shellMetricClass) {
        metrics.put(name, shellMetricClass);
        return self();
    }

    /**
     * Sets an environment variable of the storm-wasm subprocess (e.g. {@code RUST_LOG}). {@code PATH} is appended to
     * the inherited PATH by Storm.
     *
     * @param name  the variable
     * @param value its value
     * @return this component
     */
    public T withEnv(String name, String value) {
        env.put(name, value);
        return self();
    }

    /** Declares the streams given to the constructor and {@link #withStream}. */
    public void declareOutputFields(OutputFieldsDeclarer declarer) {
        streams.forEach((id, def) -> declarer.declareStream(id, def.direct, new Fields(def.fields)));
    }

    /** The entries added with {@link #withConf}, or null when there are none. */
    public Map<String, Object> getComponentConfiguration() {
        return componentConf.isEmpty() ? null : new HashMap<>(componentConf);
    }

    /**
     * Locates the binary and the plugin and registers the metrics (the plugin's and the host's own
     * {@link #HOST_METRICS}); called from prepare/open, where the worker's file system and the topology context are
     * known.
     *
     * @param kind "bolt" or "spout"
     * @return the command for the ShellBolt/ShellSpout
     */
    @SuppressWarnings("deprecation") // registerMetric(IMetric) is the only way ShellBolt/ShellSpout find IShellMetrics.
    protected String[] prepareCommand(String kind, Map<String, Object> topoConf, TopologyContext context) {
        Path binary = WasmCommand.locateBinary(topoConf, System.getenv());
        Path pluginPath = WasmCommand.resolvePlugin(plugin, context.getCodeDir(), Path.of("").toAbsolutePath());
        int bucketSecs = ObjectReader.getInt(topoConf.get(Config.TOPOLOGY_BUILTIN_METRICS_BUCKET_SIZE_SECS), 60);
        // The host reports its own metrics only because they are registered here (WasmCommand.command passes
        // --storm-metrics): Storm kills a component that reports an unregistered one.
        Map<String, String> all = new LinkedHashMap<>();
        HOST_METRICS.forEach(name -> all.put(name, CountShellMetric.class.getName()));
        all.putAll(metrics);
        for (Map.Entry<String, String> metric : all.entrySet()) {
            context.registerMetric(metric.getKey(), newShellMetric(metric.getValue()), bucketSecs);
        }
        String[] command = WasmCommand.command(binary, kind, pluginPath);
        LOG.info("Component {} task {} runs {}", context.getThisComponentId(), context.getThisTaskId(),
            Arrays.toString(command));
        return command;
    }

    /** The environment entries given with {@link #withEnv}. */
    protected Map<String, String> env() {
        return new HashMap<>(env);
    }

    private static IShellMetric newShellMetric(String className) {
        try {
            ClassLoader loader = Thread.currentThread().getContextClassLoader();
            loader = loader != null ? loader : WasmComponent.class.getClassLoader();
            Class<?> type = Class.forName(className, true, loader);
            return (IShellMetric) type.getConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalStateException("Cannot create shell metric " + className
                + " (it must implement org.apache.storm.metric.api.rpc.IShellMetric"
                + " and have a public no-arg constructor)", e);
        }
    }

    /** An output stream declaration. */
    private static final class StreamDef implements Serializable {
        private static final long serialVersionUID = 1L;
        private final boolean direct;
        private final List<String> fields;

        StreamDef(boolean direct, String... fields) {
            this.direct = direct;
            this.fields = new ArrayList<>(Arrays.asList(fields));
        }
    }
}
