package org.stormwasm.storm.bench;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one benchmark topology has done so far, shared through static state because LocalCluster runs the topology
 * in this JVM; keyed by topology name so a topology being torn down cannot add to the next one's numbers.
 */
final class Counters {
    private static final Map<String, Counters> BY_TOPOLOGY = new ConcurrentHashMap<>();

    /** Spout tuples whose tuple tree completed. */
    final LongAdder acked = new LongAdder();
    /** Spout tuples that failed or timed out. */
    final LongAdder failed = new LongAdder();
    /** Sum over acked tuples of the time from emit to ack, in nanoseconds. */
    final LongAdder completeNanos = new LongAdder();
    /** (word, count) tuples that reached the sink: one per word counted. */
    final LongAdder words = new LongAdder();

    private Counters() {
    }

    static Counters of(String topology) {
        return BY_TOPOLOGY.computeIfAbsent(topology, t -> new Counters());
    }

    /** The counters at this moment. */
    Snapshot snapshot() {
        return new Snapshot(System.nanoTime(), acked.sum(), failed.sum(), completeNanos.sum(), words.sum());
    }

    /** Counter values at one instant. */
    record Snapshot(long nanoTime, long acked, long failed, long completeNanos, long words) {
    }
}
