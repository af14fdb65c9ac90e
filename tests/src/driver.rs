//! Load: many tuples through a bolt, many cycles through a spout, with the
//! checks Storm itself would make (every tuple acked or failed exactly once,
//! anchors only to tuples in flight, every heartbeat answered, a spout never
//! acking) and the numbers a benchmark wants.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use storm_multilang::storm_side::{ShellMsg, ToChild};
use storm_multilang::Serializer;

use crate::shell::{conf, context, Seen, Shell};

/// A bolt load run.
#[derive(Clone, Debug)]
pub struct BoltLoad {
    /// The program and arguments that speak multi-lang (e.g. storm-wasm bolt x.wasm …).
    pub command: Vec<String>,
    /// The serializer both sides use.
    pub serializer: Serializer,
    /// Tuples to send.
    pub tuples: usize,
    /// Tuples in flight at most (Storm's `topology.shellbolt.max.pending`, default 100).
    pub max_pending: usize,
    /// How often to send a heartbeat (Storm: every 1-2 s).
    pub heartbeat_every: Duration,
    /// The values of the tuples, cycled (MessagePack arrays).
    pub values: Vec<Vec<u8>>,
    /// Tuples sent first and not measured.
    pub warmup: usize,
}

impl BoltLoad {
    /// A load against `storm-wasm bolt <plugin>`.
    pub fn storm_wasm(plugin: PathBuf, serializer: Serializer, tuples: usize, values: Vec<Vec<u8>>) -> Self {
        let ser = if serializer == Serializer::Json { "json" } else { "msgpack" };
        BoltLoad {
            command: vec![
                crate::host_binary().display().to_string(),
                "bolt".into(),
                plugin.display().to_string(),
                "--serializer".into(),
                ser.into(),
            ],
            serializer,
            tuples,
            max_pending: 100,
            heartbeat_every: Duration::from_millis(100),
            values,
            warmup: 1000,
        }
    }
}

/// What a bolt load observed.
#[derive(Debug, Default)]
pub struct BoltReport {
    /// Tuples sent (after warm-up).
    pub tuples: usize,
    /// Acks received.
    pub acked: usize,
    /// Fails received.
    pub failed: usize,
    /// Emits received.
    pub emitted: usize,
    /// Heartbeats sent.
    pub heartbeats_sent: usize,
    /// `sync` replies received.
    pub heartbeats_answered: usize,
    /// Protocol violations seen (empty when all is well).
    pub problems: Vec<String>,
    /// Wall time of the measured part.
    pub elapsed: Duration,
    /// The child's CPU time during the measured part.
    pub child_cpu: Option<Duration>,
    /// Tuple written → its ack read, sorted.
    pub latencies: Vec<Duration>,
    /// The child's resident memory at the end.
    pub rss_bytes: Option<u64>,
    /// The child's exit status after stdin closed.
    pub exit_ok: bool,
}

impl BoltReport {
    /// Tuples per second.
    pub fn throughput(&self) -> f64 {
        self.tuples as f64 / self.elapsed.as_secs_f64()
    }

    /// The child's CPU microseconds per tuple.
    pub fn cpu_us_per_tuple(&self) -> Option<f64> {
        self.child_cpu.map(|c| c.as_secs_f64() * 1e6 / self.tuples as f64)
    }

    /// A latency percentile (0..=100).
    pub fn latency(&self, pct: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((pct / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[i]
    }
}

/// Runs a bolt load to the end.
pub fn run_bolt(load: &BoltLoad) -> BoltReport {
    let program = PathBuf::from(&load.command[0]);
    let args: Vec<&str> = load.command[1..].iter().map(String::as_str).collect();
    let mut shell = Shell::spawn(&program, &args, load.serializer);
    shell.handshake(conf(), context(3, "bolt"));

    let mut report = BoltReport::default();
    let mut state = Flight::default();
    // Warm-up: compile caches, page faults, branch predictors.
    pump(&mut shell, load, load.warmup, &mut state, &mut BoltReport::default());
    let cpu_before = shell.cpu_time();
    let started = Instant::now();
    pump(&mut shell, load, load.tuples, &mut state, &mut report);
    report.elapsed = started.elapsed();
    report.child_cpu = cpu_before.zip(shell.cpu_time()).map(|(a, b)| b.saturating_sub(a));
    report.rss_bytes = shell.rss_bytes();
    report.tuples = load.tuples;
    report.latencies.sort();
    shell.close_stdin();
    loop {
        match shell.try_recv(Duration::from_secs(30)) {
            Some(Seen::Msg(ShellMsg::Sync)) => report.heartbeats_answered += 1,
            Some(Seen::Msg(ShellMsg::Log { .. })) => {}
            Some(Seen::Msg(other)) => report.problems.push(format!("after the last ack: {other:?}")),
            Some(Seen::Closed) => break,
            Some(Seen::Garbage(g)) => {
                report.problems.push(format!("not a frame: {g}"));
                break;
            }
            None => {
                report.problems.push("the child did not exit after stdin closed".into());
                break;
            }
        }
    }
    report.exit_ok = shell.wait().success();
    if report.heartbeats_answered != report.heartbeats_sent {
        report
            .problems
            .push(format!("{} heartbeats sent, {} answered", report.heartbeats_sent, report.heartbeats_answered));
    }
    if !report.exit_ok {
        report.problems.push(format!("the child exited with an error; stderr:\n{}", shell.stderr()));
    }
    report
}

#[derive(Default)]
struct Flight {
    next_id: u64,
    in_flight: HashMap<String, Instant>,
    last_heartbeat: Option<Instant>,
}

fn pump(shell: &mut Shell, load: &BoltLoad, count: usize, st: &mut Flight, report: &mut BoltReport) {
    let mut sent = 0;
    let mut done = 0;
    let mut queued_since_flush = false;
    while done < count {
        while sent < count && st.in_flight.len() < load.max_pending {
            // Storm's ids are random longs as strings; these are unique.
            let id = format!("-{}", 1_000_000_007u64.wrapping_mul(st.next_id + 1));
            let values = &load.values[st.next_id as usize % load.values.len()];
            st.next_id += 1;
            shell.queue(&ToChild::Tuple { id: &id, comp: Some("spout"), stream: "default", task: 7, values });
            st.in_flight.insert(id, Instant::now());
            sent += 1;
            queued_since_flush = true;
        }
        if st.last_heartbeat.is_none_or(|t| t.elapsed() >= load.heartbeat_every) {
            let id = format!("hb-{}", report.heartbeats_sent);
            shell.queue(&ToChild::heartbeat(&id));
            report.heartbeats_sent += 1;
            st.last_heartbeat = Some(Instant::now());
            queued_since_flush = true;
        }
        if queued_since_flush {
            shell.flush();
            queued_since_flush = false;
        }
        let Some((at, seen)) = shell.try_recv_timed(Duration::from_secs(30)) else {
            report
                .problems
                .push(format!("nothing from the child for 30 s with {} tuples in flight", st.in_flight.len()));
            return;
        };
        match seen {
            Seen::Msg(ShellMsg::Ack(id)) | Seen::Msg(ShellMsg::Fail(id)) if !st.in_flight.contains_key(&id) => {
                report.problems.push(format!("ack/fail of {id}, which is not in flight (duplicate or unknown)"));
            }
            Seen::Msg(ShellMsg::Ack(id)) => {
                report.acked += 1;
                done += 1;
                report.latencies.push(at.duration_since(st.in_flight.remove(&id).expect("checked")));
            }
            Seen::Msg(ShellMsg::Fail(id)) => {
                report.failed += 1;
                done += 1;
                st.in_flight.remove(&id);
            }
            Seen::Msg(ShellMsg::Emit(e)) => {
                report.emitted += 1;
                if let Some(a) = e.anchors.iter().find(|a| !st.in_flight.contains_key(*a)) {
                    report.problems.push(format!("emit anchored to {a}, which is not in flight"));
                }
                if e.task.is_some() || e.wants_task_ids() {
                    report.problems.push(format!("unexpected emit fields: {e:?}"));
                }
            }
            Seen::Msg(ShellMsg::Sync) => report.heartbeats_answered += 1,
            Seen::Msg(ShellMsg::Log { .. }) => {}
            Seen::Msg(other) => report.problems.push(format!("unexpected: {other:?}")),
            Seen::Closed => {
                report.problems.push(format!("the child closed stdout; stderr:\n{}", shell.stderr()));
                return;
            }
            Seen::Garbage(g) => {
                report.problems.push(format!("not a frame: {g}"));
                return;
            }
        }
        if report.problems.len() > 20 {
            return;
        }
    }
}

/// What spout cycles observed.
#[derive(Debug, Default)]
pub struct SpoutReport {
    /// `next` commands sent.
    pub nexts: usize,
    /// `ack` commands sent.
    pub acks: usize,
    /// Tuples emitted.
    pub emitted: usize,
    /// Protocol violations.
    pub problems: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `cycles` × (next → ack of what it emitted), each ending in `sync`.
pub fn run_spout_cycles(shell: &mut Shell, cycles: usize) -> SpoutReport {
    let mut report = SpoutReport::default();
    let started = Instant::now();
    let cycle = |shell: &mut Shell, command: &str, id: Option<&str>, report: &mut SpoutReport| -> Vec<String> {
        shell.send(&ToChild::Spout { command, id });
        let mut ids = Vec::new();
        loop {
            match shell.recv() {
                ShellMsg::Sync => return ids,
                ShellMsg::Emit(e) => {
                    report.emitted += 1;
                    if e.wants_task_ids() || e.task.is_some() {
                        report.problems.push(format!("unexpected emit fields: {e:?}"));
                    }
                    match e.id {
                        Some(id) => ids.push(id),
                        None => report.problems.push("an untracked emit".into()),
                    }
                }
                ShellMsg::Log { .. } => {}
                other => report.problems.push(format!("a spout must not send {other:?} (ShellSpout dies on it)")),
            }
        }
    };
    cycle(shell, "activate", None, &mut report);
    for _ in 0..cycles {
        let ids = cycle(shell, "next", None, &mut report);
        report.nexts += 1;
        for id in ids {
            let extra = cycle(shell, "ack", Some(&id), &mut report);
            report.acks += 1;
            if !extra.is_empty() {
                report.problems.push(format!("emits during an ack cycle: {extra:?}"));
            }
        }
        if report.problems.len() > 20 {
            break;
        }
    }
    report.elapsed = started.elapsed();
    report
}
