//! Load: many tuples through a bolt, many cycles through a spout, with the
//! checks Storm itself would make (every tuple acked or failed exactly once,
//! anchors only to tuples in flight, every heartbeat answered, a spout never
//! acking) and the numbers a benchmark wants.
//!
//! The bolt driver must cost less than what it measures, so its hot loop is
//! one thread over non-blocking pipes (`conn`): it tops the window up to
//! `max_pending` tuples from pre-encoded templates (`wire`), writes them in
//! one syscall, sleeps in `poll`, and reads every reply that arrived in one
//! more, decoding them in place. Ids index a slot table (`flight`) and two
//! clock reads per round trip stamp whole batches. Its own CPU time is
//! reported next to the child's ([`BoltReport::driver_cpu`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use storm_multilang::storm_side::{ShellMsg, ToChild};
use storm_multilang::Serializer;

use crate::conn::{Conn, Got};
use crate::flight::Flight;
use crate::shell::{conf, context, Shell};
use crate::wire::{Msg, TupleTemplate};

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
    /// Whether a non-zero exit after stdin closes is a problem (pystorm
    /// exits 1 when "Storm went away", which is how it always ends).
    pub expect_clean_exit: bool,
}

impl BoltLoad {
    /// A load against `storm-wasm bolt <plugin>`.
    pub fn storm_wasm(plugin: PathBuf, serializer: Serializer, tuples: usize, values: Vec<Vec<u8>>) -> Self {
        let ser = if serializer == Serializer::Json { "json" } else { "msgpack" };
        let command = vec![
            crate::host_binary().display().to_string(),
            "bolt".into(),
            plugin.display().to_string(),
            "--serializer".into(),
            ser.into(),
        ];
        Self::command(command, serializer, tuples, values)
    }

    /// A load against any multi-lang command (program, then arguments).
    pub fn command(command: Vec<String>, serializer: Serializer, tuples: usize, values: Vec<Vec<u8>>) -> Self {
        BoltLoad {
            command,
            serializer,
            tuples,
            max_pending: 100,
            heartbeat_every: Duration::from_millis(100),
            values,
            warmup: 1000,
            expect_clean_exit: true,
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
    /// The driver's own CPU time during the measured part (its one thread).
    pub driver_cpu: Option<Duration>,
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

    /// The driver's CPU microseconds per tuple.
    pub fn driver_cpu_us_per_tuple(&self) -> Option<f64> {
        self.driver_cpu.map(|c| c.as_secs_f64() * 1e6 / self.tuples as f64)
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

/// How long the child may stay silent with tuples in flight.
const STALL: Duration = Duration::from_secs(30);

/// Runs a bolt load to the end.
pub fn run_bolt(load: &BoltLoad) -> BoltReport {
    let mut report = BoltReport::default();
    let mut conn = match Conn::spawn(&load.command, load.serializer) {
        Ok(c) => c,
        Err(e) => panic!("cannot start {:?}: {e}", load.command),
    };
    if let Err(e) = conn.handshake(&conf(), &context(3, "bolt")) {
        report.problems.push(format!("handshake: {e}"));
        return report;
    }
    let mut run = Run::new(load);
    // Warm-up: compile caches, page faults, branch predictors.
    run.pump(&mut conn, load.warmup, &mut BoltReport::default());
    report.latencies.reserve(load.tuples);
    let (child_before, driver_before) = (conn.proc.cpu(), crate::child::thread_cpu());
    let started = Instant::now();
    run.pump(&mut conn, load.tuples, &mut report);
    report.elapsed = started.elapsed();
    report.child_cpu = conn.proc.cpu().since(&child_before);
    report.driver_cpu = driver_before.zip(crate::child::thread_cpu()).map(|(a, b)| b.saturating_sub(a));
    report.rss_bytes = conn.proc.rss_bytes();
    report.tuples = load.tuples;
    report.latencies.sort_unstable();
    run.finish(&mut conn, &mut report);
    report
}

/// The state of one load across warm-up and measurement.
struct Run<'a> {
    load: &'a BoltLoad,
    templates: Vec<TupleTemplate>,
    flight: Flight,
    /// The driver's clock: tuple stamps are nanoseconds since this.
    clock: Instant,
    next_tuple: usize,
    heartbeats_sent: usize,
    heartbeats_answered: usize,
    last_heartbeat: Option<Instant>,
}

impl<'a> Run<'a> {
    fn new(load: &'a BoltLoad) -> Run<'a> {
        Run {
            load,
            templates: load.values.iter().map(|v| TupleTemplate::new(load.serializer, v)).collect(),
            flight: Flight::new(load.max_pending),
            clock: Instant::now(),
            next_tuple: 0,
            heartbeats_sent: 0,
            heartbeats_answered: 0,
            last_heartbeat: None,
        }
    }

    fn ns(&self) -> u64 {
        self.clock.elapsed().as_nanos() as u64
    }

    /// Sends `count` tuples and reads until each is acked or failed.
    fn pump(&mut self, conn: &mut Conn, count: usize, report: &mut BoltReport) {
        let (mut sent, mut done) = (0, 0);
        let mut last_heard = Instant::now();
        while done < count {
            // Top the window up; the whole batch shares one stamp, taken
            // just before the one write that sends it.
            let sent_ns = self.ns();
            while sent < count && self.flight.has_room() {
                let id = self.flight.insert(sent_ns);
                self.templates[self.next_tuple % self.templates.len()].write(id, conn.out());
                self.next_tuple += 1;
                sent += 1;
            }
            let now = Instant::now();
            if self.last_heartbeat.is_none_or(|t| now - t >= self.load.heartbeat_every) {
                let id = format!("hb-{}", self.heartbeats_sent);
                conn.queue(&ToChild::heartbeat(&id));
                self.heartbeats_sent += 1;
                self.last_heartbeat = Some(now);
            }
            conn.write();
            let next_heartbeat = self.load.heartbeat_every.saturating_sub(now - self.last_heartbeat.unwrap_or(now));
            conn.wait(next_heartbeat.max(Duration::from_millis(1)));
            match conn.read() {
                Ok(Got::Data) => last_heard = Instant::now(),
                Ok(Got::Empty) if last_heard.elapsed() < STALL => continue,
                Ok(Got::Empty) => {
                    report.problems.push(format!(
                        "nothing from the child for {STALL:?} with {} tuples in flight",
                        self.flight.len()
                    ));
                    return;
                }
                Ok(Got::Eof) | Err(_) => {
                    report.problems.push(format!("the child closed stdout; stderr:\n{}", conn.proc.stderr()));
                    return;
                }
            }
            let read_ns = self.ns();
            while let Some(r) = conn.next_msg(|m| self.handle(m, read_ns, report)) {
                match r {
                    Ok(ended) => done += ended as usize,
                    Err(why) => {
                        report.problems.push(format!("not a frame: {why}"));
                        return;
                    }
                }
            }
            if report.problems.len() > 20 {
                return;
            }
        }
    }

    /// Checks one message; `true` when it ended a tuple's flight.
    fn handle(&mut self, msg: Msg<'_>, read_ns: u64, report: &mut BoltReport) -> bool {
        match msg {
            Msg::Ack(id) | Msg::Fail(id) => {
                let Some(sent_ns) = self.flight.remove(id) else {
                    report.problems.push(format!("ack/fail of {id}, which is not in flight (duplicate or unknown)"));
                    return false;
                };
                if matches!(msg, Msg::Ack(_)) {
                    report.acked += 1;
                    report.latencies.push(Duration::from_nanos(read_ns.saturating_sub(sent_ns)));
                } else {
                    report.failed += 1;
                }
                true
            }
            Msg::Emit { anchors, direct, wants_task_ids, .. } => {
                report.emitted += 1;
                if let Some(a) = anchors.iter().find(|&a| !self.flight.contains(a)) {
                    report.problems.push(format!("emit anchored to {a}, which is not in flight"));
                }
                if direct || wants_task_ids {
                    report
                        .problems
                        .push(format!("unexpected emit fields: direct task {direct}, need_task_ids {wants_task_ids}"));
                }
                false
            }
            Msg::Sync => {
                self.heartbeats_answered += 1;
                false
            }
            Msg::Log => false,
            Msg::Pid(p) => {
                report.problems.push(format!("unexpected: a second pid reply ({p})"));
                false
            }
            Msg::Other(other) => {
                report.problems.push(format!("unexpected: {other:?}"));
                false
            }
        }
    }

    /// Closes stdin as Storm does at shutdown, reads to the end, checks
    /// every heartbeat was answered and the exit status.
    fn finish(&mut self, conn: &mut Conn, report: &mut BoltReport) {
        conn.write();
        conn.proc.close_stdin();
        let deadline = Instant::now() + STALL;
        'read: loop {
            match conn.read() {
                Ok(Got::Data) => {}
                Ok(Got::Eof) => break,
                Ok(Got::Empty) if Instant::now() < deadline => {
                    conn.wait(deadline - Instant::now());
                    continue;
                }
                Ok(Got::Empty) | Err(_) => {
                    report.problems.push("the child did not exit after stdin closed".into());
                    break;
                }
            }
            while let Some(r) = conn.next_msg(|m| match m {
                Msg::Sync => {
                    self.heartbeats_answered += 1;
                    None
                }
                Msg::Log => None,
                other => Some(format!("after the last ack: {other:?}")),
            }) {
                match r {
                    Ok(None) => {}
                    Ok(Some(problem)) => report.problems.push(problem),
                    Err(why) => {
                        report.problems.push(format!("not a frame: {why}"));
                        break 'read;
                    }
                }
            }
        }
        report.exit_ok = conn.proc.wait(Duration::from_secs(60)).is_some_and(|s| s.success());
        report.heartbeats_sent = self.heartbeats_sent;
        report.heartbeats_answered = self.heartbeats_answered;
        if report.heartbeats_answered != report.heartbeats_sent {
            report
                .problems
                .push(format!("{} heartbeats sent, {} answered", report.heartbeats_sent, report.heartbeats_answered));
        }
        if !report.exit_ok && self.load.expect_clean_exit {
            report.problems.push(format!("the child exited with an error; stderr:\n{}", conn.proc.stderr()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{write_id, Anchors, Id};

    #[test]
    fn every_check_still_bites() {
        let load = BoltLoad::command(vec!["unused".into()], Serializer::Json, 2, vec![vec![0x90]]);
        let mut run = Run::new(&load);
        let mut report = BoltReport::default();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write_id(&mut a, run.flight.insert(100));
        write_id(&mut b, run.flight.insert(100));
        fn emit(anchor: &[u8], wants_task_ids: bool) -> Msg<'_> {
            let mut anchors = Anchors::default();
            anchors.push(anchor);
            Msg::Emit { anchors, direct: false, wants_task_ids, values: b"[]" }
        }
        let mut handle = |m, report: &mut BoltReport| run.handle(m, 150, report);
        assert!(!handle(emit(&a, false), &mut report));
        assert!(handle(Msg::Ack(Id(&a)), &mut report));
        assert_eq!((report.acked, report.latencies[0]), (1, Duration::from_nanos(50)));
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(!handle(Msg::Ack(Id(&a)), &mut report), "a second ack");
        assert!(!handle(emit(&a, false), &mut report), "an anchor no longer in flight");
        assert!(!handle(emit(&b, true), &mut report), "need_task_ids left to its default");
        assert!(!handle(Msg::Fail(Id(b"-1")), &mut report), "an id never sent");
        assert!(handle(Msg::Fail(Id(&b)), &mut report));
        assert_eq!((report.acked, report.failed, report.emitted, report.problems.len()), (1, 1, 3, 4));
    }
}
