package org.stormwasm.storm.it;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.storm.metric.api.rpc.IShellMetric;

/** An IShellMetric that adds every reported number to a static total the test can read at once. */
public class RecordingShellMetric implements IShellMetric {
    static final AtomicLong TOTAL = new AtomicLong();

    @Override
    public void updateMetricFromRPC(Object params) {
        TOTAL.addAndGet(((Number) params).longValue());
    }

    @Override
    public Object getValueAndReset() {
        return TOTAL.get();
    }
}
