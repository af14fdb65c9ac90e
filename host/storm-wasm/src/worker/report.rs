//! Live rates while the topology runs, and the summary at the end.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::queue::TaskQueue;
use super::stats::{get, TaskStats, Totals};
use super::swap::Release;
use crate::engine::World;

/// What the reporter watches of one component.
pub struct Watched {
    /// Component id.
    pub id: String,
    /// Spout or bolt.
    pub world: World,
    /// Its tasks' counters.
    pub tasks: Vec<Arc<TaskStats>>,
    /// Its executors' queues.
    pub queues: Vec<Arc<TaskQueue>>,
    /// New versions of its plugin (none when not watched).
    pub release: Option<Arc<Release>>,
    /// Its dead-letter stream, when it has a dead-letter policy.
    pub dead_letters: Option<String>,
}

impl Watched {
    /// Counters summed over the tasks.
    pub fn totals(&self) -> Totals {
        Totals::of(self.tasks.iter().map(|t| &**t))
    }

    /// Tuples queued, and the queues' total capacity.
    pub fn queued(&self) -> (usize, usize) {
        self.queues.iter().fold((0, 0), |(q, c), queue| (q + queue.depth().0, c + queue.capacity()))
    }
}

/// The counters at one moment.
pub struct Snapshot {
    at: Instant,
    totals: Vec<Totals>,
}

impl Snapshot {
    /// Takes one.
    pub fn take(components: &[Watched]) -> Self {
        Snapshot { at: Instant::now(), totals: components.iter().map(Watched::totals).collect() }
    }
}

fn rate(n: u64, secs: f64) -> String {
    human(n as f64 / secs.max(1e-9))
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn latency(ms: Option<f64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms >= 1.0 => format!("{ms:.1} ms"),
        Some(ms) => format!("{:.1} µs", ms * 1000.0),
    }
}

/// The live lines for the interval since `before` (rates per second).
pub fn live(components: &[Watched], before: &Snapshot, now: &Snapshot, since_start: Duration) -> String {
    let secs = now.at.duration_since(before.at).as_secs_f64();
    let mut out = format!(
        "[{:>5.0}s] {:<14} {:>9} {:>9} {:>9} {:>8} {:>10} {:>15}\n",
        since_start.as_secs_f64(),
        "component",
        "emitted/s",
        "exec/s",
        "acked/s",
        "failed/s",
        "latency",
        "queue"
    );
    for (i, c) in components.iter().enumerate() {
        let (a, b) = (&now.totals[i], &before.totals[i]);
        let (queued, capacity) = c.queued();
        let (exec, queue, lat) = match c.world {
            World::Spout => ("-".to_string(), format!("pending {}", a.pending), latency(a.latency_ms_since(b))),
            World::Bolt => {
                (rate(a.executed - b.executed, secs), format!("{queued}/{capacity}"), latency(a.latency_ms_since(b)))
            }
        };
        let swaps = if a.swaps + a.rollbacks > 0 {
            format!("  swaps {} rollbacks {}", a.swaps, a.rollbacks)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "         {:<14} {:>9} {:>9} {:>9} {:>8} {:>10} {:>15}{swaps}",
            c.id,
            rate(a.emitted - b.emitted, secs),
            exec,
            rate(a.acked - b.acked, secs),
            rate(a.failed - b.failed, secs),
            lat,
            queue
        );
    }
    out
}

/// The end of a run, for the summary.
pub struct Outcome {
    /// Topology name.
    pub name: String,
    /// From the go to the start of the drain.
    pub ran: Duration,
    /// The drain.
    pub drained_in: Duration,
    /// Whether every tuple was finished before stopping.
    pub drained: bool,
    /// Why it stopped.
    pub reason: String,
    /// Fatal error, if any.
    pub fatal: Option<String>,
    /// Metric totals: (component, name, value).
    pub metrics: Vec<(String, String, f64)>,
}

/// The summary as text and as JSON.
pub fn summary(components: &[Watched], outcome: &Outcome) -> (String, serde_json::Value) {
    let secs = outcome.ran.as_secs_f64().max(1e-9);
    let mut text = format!(
        "storm-wasm run {}: ran {:.1} s, stopped by {}, drained in {:.2} s{}\n",
        outcome.name,
        outcome.ran.as_secs_f64(),
        outcome.reason,
        outcome.drained_in.as_secs_f64(),
        if outcome.drained { "" } else { " (NOT fully drained)" }
    );
    let _ = writeln!(
        text,
        "{:<14} {:<5} {:>5} {:>11} {:>11} {:>11} {:>9} {:>6} {:>11}",
        "component", "kind", "tasks", "emitted", "executed", "acked", "failed", "traps", "latency"
    );
    let mut json_components = Vec::new();
    let (mut tracked, mut acked, mut failed, mut timed_out, mut pending) = (0, 0, 0, 0, 0);
    let mut executed_total = 0;
    let mut notes = String::new();
    for c in components {
        let t = c.totals();
        let (kind, exec, lat) = match c.world {
            World::Spout => ("spout", "-".to_string(), latency(t.latency_ms_since(&Totals::default()))),
            World::Bolt => ("bolt", t.executed.to_string(), latency(t.latency_ms_since(&Totals::default()))),
        };
        let _ = writeln!(
            text,
            "{:<14} {:<5} {:>5} {:>11} {:>11} {:>11} {:>9} {:>6} {:>11}",
            c.id,
            kind,
            c.tasks.len(),
            t.emitted,
            exec,
            t.acked,
            t.failed,
            t.traps,
            lat
        );
        if c.world == World::Spout {
            tracked += t.tracked;
            acked += t.acked;
            failed += t.failed;
            timed_out += t.timed_out;
            pending += t.pending;
        } else {
            executed_total += t.executed;
        }
        let (peak, blocked) = c.queues.iter().fold((0, Duration::ZERO), |(p, b), q| {
            let (qp, qb) = q.pressure();
            (p.max(qp), b + qb)
        });
        let (published, refused) = c.release.as_ref().map_or((0, 0), |r| (get(&r.published), get(&r.refused)));
        if published + refused + t.swaps + t.swap_failures + t.rollbacks > 0 {
            let _ = writeln!(
                notes,
                "hot swap {}: {published} new versions loaded, {refused} refused; {} task switches, {} failed, {} rollbacks",
                c.id, t.swaps, t.swap_failures, t.rollbacks
            );
        }
        if let Some(stream) = &c.dead_letters {
            let _ =
                writeln!(notes, "dead letters {}: {} tuples acked and sent to stream {stream}", c.id, t.dead_lettered);
        }
        json_components.push(serde_json::json!({
            "id": c.id, "kind": kind, "tasks": c.tasks.len(), "emitted": t.emitted, "transferred": t.transferred,
            "executed": t.executed, "acked": t.acked, "failed": t.failed, "timed_out": t.timed_out,
            "tracked": t.tracked, "pending": t.pending, "traps": t.traps, "errors": t.errors,
            "latency_ms": t.latency_ms_since(&Totals::default()),
            "queue_peak": peak, "producers_blocked_ms": blocked.as_millis() as u64,
            "versions_loaded": published, "versions_refused": refused, "swaps": t.swaps,
            "swap_failures": t.swap_failures, "rollbacks": t.rollbacks,
            "dead_letter_stream": c.dead_letters, "dead_lettered": t.dead_lettered,
        }));
    }
    text.push_str(&notes);
    for (component, name, value) in &outcome.metrics {
        let _ = writeln!(text, "metric {component}/{name} = {value}");
    }
    let _ = writeln!(
        text,
        "spout messages: {tracked} emitted (replays included), {acked} acked, {failed} failed ({timed_out} timed out), {pending} pending"
    );
    let _ = writeln!(
        text,
        "throughput: {} messages acked/s, {} tuples executed/s",
        human(acked as f64 / secs),
        human(executed_total as f64 / secs)
    );
    if let Some(fatal) = &outcome.fatal {
        let _ = writeln!(text, "FAILED: {fatal}");
    } else if tracked > 0 && failed == 0 && pending == 0 {
        let _ = writeln!(text, "all {acked} spout messages acked");
    }
    let json = serde_json::json!({
        "topology": outcome.name, "ran_secs": outcome.ran.as_secs_f64(), "drained_secs": outcome.drained_in.as_secs_f64(),
        "drained": outcome.drained, "stopped_by": outcome.reason, "fatal": outcome.fatal,
        "components": json_components,
        "messages": {"emitted": tracked, "acked": acked, "failed": failed, "timed_out": timed_out, "pending": pending},
        "metrics": outcome.metrics.iter().map(|(c, n, v)| serde_json::json!({"component": c, "name": n, "value": v})).collect::<Vec<_>>(),
    });
    (text, json)
}
