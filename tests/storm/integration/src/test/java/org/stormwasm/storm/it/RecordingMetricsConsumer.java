package org.stormwasm.storm.it;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.apache.storm.metric.api.IMetricsConsumer;
import org.apache.storm.task.IErrorReporter;
import org.apache.storm.task.TopologyContext;

/**
 * A metrics consumer ({@code Config.registerMetricsConsumer(RecordingMetricsConsumer.class, key, 1)}) that sums
 * the numeric data points it receives per test key, component and metric name. In LocalCluster the consumer runs
 * as a bolt in the test's JVM, so the sums are static and the test reads them directly.
 */
public class RecordingMetricsConsumer implements IMetricsConsumer {
    private static final Map<String, LongAdder> SUMS = new ConcurrentHashMap<>();

    private String key;

    private static String id(String key, String component, String metric) {
        return key + "/" + component + "/" + metric;
    }

    /** The sum of every data point of {@code metric} from {@code component}'s tasks so far. */
    static long sum(String key, String component, String metric) {
        LongAdder sum = SUMS.get(id(key, component, metric));
        return sum == null ? 0 : sum.sum();
    }

    @Override
    public void prepare(Map<String, Object> topoConf, Object registrationArgument, TopologyContext context,
                        IErrorReporter errorReporter) {
        key = String.valueOf(registrationArgument);
    }

    @Override
    public void handleDataPoints(TaskInfo taskInfo, Collection<DataPoint> dataPoints) {
        for (DataPoint point : dataPoints) {
            if (point.value instanceof Number number) {
                SUMS.computeIfAbsent(id(key, taskInfo.srcComponentId, point.name), k -> new LongAdder())
                    .add(number.longValue());
            }
        }
    }

    @Override
    public void cleanup() {
    }
}
