//! Counters of one task, written by its executor and read by the reporter
//! (relaxed atomics: a report may be a tuple behind, never wrong for long).

use std::sync::atomic::{AtomicU64, Ordering};

/// What one task did so far.
#[derive(Debug, Default)]
pub struct TaskStats {
    /// Emits (one per emit call, whatever the number of receivers).
    pub emitted: AtomicU64,
    /// Tuples delivered to tasks (an emit to three tasks counts three).
    pub transferred: AtomicU64,
    /// Bolt: inputs executed (tick tuples included).
    pub executed: AtomicU64,
    /// Bolt: inputs acked. Spout: tuple trees completed.
    pub acked: AtomicU64,
    /// Bolt: inputs failed. Spout: trees failed, timeouts included.
    pub failed: AtomicU64,
    /// Spout: trees that timed out.
    pub timed_out: AtomicU64,
    /// Spout: emits with a message id (replays included).
    pub tracked: AtomicU64,
    /// Spout: trees emitted and not yet acked or failed.
    pub pending: AtomicU64,
    /// Spout: complete latency; bolt: execute time; in nanoseconds.
    pub latency_nanos: AtomicU64,
    /// How many latencies were summed.
    pub latency_count: AtomicU64,
    /// Calls that trapped.
    pub traps: AtomicU64,
    /// `report-error` calls.
    pub errors: AtomicU64,
    /// Switches to a new version of the plugin (hot swaps).
    pub swaps: AtomicU64,
    /// New versions this task could not switch to (start or state hand-over failed).
    pub swap_failures: AtomicU64,
    /// Rollbacks of a new version that trapped right after its switch.
    pub rollbacks: AtomicU64,
    /// Bolt: inputs acked and sent to the dead-letter stream.
    pub dead_lettered: AtomicU64,
}

/// Adds `n` to a counter.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Reads a counter.
pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// The sums over several tasks, at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// See [`TaskStats::emitted`].
    pub emitted: u64,
    /// See [`TaskStats::transferred`].
    pub transferred: u64,
    /// See [`TaskStats::executed`].
    pub executed: u64,
    /// See [`TaskStats::acked`].
    pub acked: u64,
    /// See [`TaskStats::failed`].
    pub failed: u64,
    /// See [`TaskStats::timed_out`].
    pub timed_out: u64,
    /// See [`TaskStats::tracked`].
    pub tracked: u64,
    /// See [`TaskStats::pending`].
    pub pending: u64,
    /// See [`TaskStats::latency_nanos`].
    pub latency_nanos: u64,
    /// See [`TaskStats::latency_count`].
    pub latency_count: u64,
    /// See [`TaskStats::traps`].
    pub traps: u64,
    /// See [`TaskStats::errors`].
    pub errors: u64,
    /// See [`TaskStats::swaps`].
    pub swaps: u64,
    /// See [`TaskStats::swap_failures`].
    pub swap_failures: u64,
    /// See [`TaskStats::rollbacks`].
    pub rollbacks: u64,
    /// See [`TaskStats::dead_lettered`].
    pub dead_lettered: u64,
}

impl Totals {
    /// Sums `tasks`.
    pub fn of<'a>(tasks: impl IntoIterator<Item = &'a TaskStats>) -> Self {
        let mut t = Totals::default();
        for s in tasks {
            t.emitted += get(&s.emitted);
            t.transferred += get(&s.transferred);
            t.executed += get(&s.executed);
            t.acked += get(&s.acked);
            t.failed += get(&s.failed);
            t.timed_out += get(&s.timed_out);
            t.tracked += get(&s.tracked);
            t.pending += get(&s.pending);
            t.latency_nanos += get(&s.latency_nanos);
            t.latency_count += get(&s.latency_count);
            t.traps += get(&s.traps);
            t.errors += get(&s.errors);
            t.swaps += get(&s.swaps);
            t.swap_failures += get(&s.swap_failures);
            t.rollbacks += get(&s.rollbacks);
            t.dead_lettered += get(&s.dead_lettered);
        }
        t
    }

    /// Mean latency in milliseconds over what `self` adds to `before`.
    pub fn latency_ms_since(&self, before: &Totals) -> Option<f64> {
        let n = self.latency_count.saturating_sub(before.latency_count);
        (n > 0).then(|| self.latency_nanos.saturating_sub(before.latency_nanos) as f64 / n as f64 / 1e6)
    }
}
