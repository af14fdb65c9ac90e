package org.stormwasm.storm.it;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;
import org.apache.storm.multilang.ShellMsg;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.utils.DefaultShellLogHandler;
import org.apache.storm.utils.ShellLogHandler;
import org.apache.storm.utils.ShellProcess;

/**
 * A {@code topology.multilang.log.handler} that remembers every multi-lang {@code log} message (and still logs it
 * through Storm's default handler). Storm creates one per ShellBolt/ShellSpout by reflection.
 */
public class RecordingLogHandler implements ShellLogHandler {
    /** One multi-lang log message. */
    record Entry(String stormId, String componentId, ShellMsg.ShellLogLevel level, String msg) {
    }

    static final Queue<Entry> ENTRIES = new ConcurrentLinkedQueue<>();

    private final DefaultShellLogHandler delegate = new DefaultShellLogHandler();
    private String stormId;
    private String componentId;

    @Override
    public void setUpContext(Class<?> ownerCls, ShellProcess process, TopologyContext context) {
        delegate.setUpContext(ownerCls, process, context);
        stormId = context.getStormId();
        componentId = context.getThisComponentId();
    }

    @Override
    public void log(ShellMsg msg) {
        ENTRIES.add(new Entry(stormId, componentId, msg.getLogLevel(), msg.getMsg()));
        delegate.log(msg);
    }

    /** The messages logged by the topology named {@code topologyName} (storm ids are "name-counter-timestamp"). */
    static List<String> messages(String topologyName) {
        return ENTRIES.stream()
            .filter(e -> e.stormId() != null && e.stormId().startsWith(topologyName + "-"))
            .map(Entry::msg)
            .collect(Collectors.toList());
    }
}
