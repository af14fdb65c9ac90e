//! What a plugin instance reaches in the native worker: the storm:plugin
//! imports over the worker's queues and acker instead of Storm's pipes.
//!
//! Everything a call does (emits, acks, fails) is staged and takes effect
//! when the call returns ([`TaskCtx::commit`]); a call that traps leaves
//! nothing behind ([`TaskCtx::discard`]) and can be retried. It also keeps
//! queue waits (backpressure) out of the plugin's CPU deadline. The checks
//! are the subprocess mode's: values are one MessagePack array, anchors and
//! acks name inputs in flight, and each call has a budget.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustc_hash::FxHashMap;

use super::acker::{AckerMsg, Note, Verdict};
use super::grouping::Router;
use super::queue::TaskQueue;
use super::stats::{add, TaskStats};
use super::topology::Topology;
use super::tuple::{Payload, Rng, Roots, Tuple};
use crate::bindings::LogLevel;
use crate::limits::{Limits, Poison};
use crate::plugin_state::{PluginEmit, PluginState, TaskSide};
use crate::sandbox::{truncate, CallBudget, LogRate};
use crate::stdio::Capture;

/// Spouts: what the topology is doing.
pub mod spout_state {
    /// Opened, not yet activated (or deactivated for the drain).
    pub const INACTIVE: u8 = 0;
    /// Running.
    pub const ACTIVE: u8 = 1;
    /// Stop now.
    pub const STOP: u8 = 2;
}

/// State every task shares.
pub struct Shared {
    /// Each component's id and stream ids, by index (tuples carry indices).
    pub names: Vec<(String, Vec<String>)>,
    /// The receive queue of each executor.
    pub queues: Vec<Arc<TaskQueue>>,
    /// Executor index of each task id.
    pub executor_of: Vec<usize>,
    /// Whether tuple trees are tracked (`topology.acker.executors` > 0).
    pub acking: bool,
    /// Something went fatally wrong, or a forced stop: executors leave now.
    pub abort: AtomicBool,
    /// The first fatal error.
    pub fatal: Mutex<Option<String>>,
    /// See [`spout_state`].
    pub spouts: AtomicU8,
    /// Lowest plugin log level printed (0 trace .. 4 error, 5 none).
    pub plugin_log_level: u8,
    /// `--tap`: component -> streams (empty: all).
    pub taps: FxHashMap<String, Vec<String>>,
    /// Where tapped tuples go.
    pub tap_out: Mutex<std::io::BufWriter<std::io::Stdout>>,
    /// Metric totals: (component, name) -> value.
    pub metrics: Mutex<BTreeMap<(String, String), f64>>,
}

impl Shared {
    /// Stops everything with `message` as the reason (the first one wins).
    pub fn fail(&self, message: String) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if fatal.is_none() {
            eprintln!("storm-wasm: {message}");
            *fatal = Some(message);
        }
        self.abort.store(true, Ordering::SeqCst);
        for q in &self.queues {
            q.close();
        }
    }

    /// Writes one tap line.
    pub fn tap_line(&self, line: &str) {
        let mut out = self.tap_out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{line}");
    }
}

/// A bolt input handed to the plugin and not yet acked or failed.
pub struct InFlight {
    /// Its tuple trees.
    pub roots: Roots,
    /// XOR of the edges of the tuples anchored to it (Storm's `_outAckVal`).
    pub ack_val: u64,
    /// A tick tuple (acked even when the plugin keeps it).
    pub tick: bool,
}

/// A staged effect of a call.
pub enum Op {
    /// An emit, its receiving tasks already chosen.
    Emit {
        /// The stream's index.
        stream: u32,
        /// The values (checked).
        values: Vec<u8>,
        /// Receiving tasks.
        targets: Vec<i32>,
        /// Bolt: the local ids of the anchors.
        anchors: Vec<u64>,
        /// Spout: the message id (a tracked tuple).
        message_id: Option<String>,
    },
    /// Ack an input.
    Ack(u64),
    /// Fail an input.
    Fail(u64),
}

/// Tuples and acker messages on their way out of an executor, sent in
/// batches after each round of calls.
pub struct Outbox {
    /// Per executor.
    pub data: Vec<Vec<Tuple>>,
    /// Per acker.
    pub acker: Vec<Vec<AckerMsg>>,
    /// The acker channels.
    pub ackers: Vec<Sender<Vec<AckerMsg>>>,
    /// Spout tuples that need no acker (no receivers, or acking off): acked
    /// right away, as Storm does.
    pub immediate: Vec<Note>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new(executors: usize, ackers: Vec<Sender<Vec<AckerMsg>>>) -> Self {
        Outbox {
            data: (0..executors).map(|_| Vec::new()).collect(),
            acker: vec![Vec::new(); ackers.len()],
            ackers,
            immediate: Vec::new(),
        }
    }

    fn tell_acker(&mut self, msg: AckerMsg) {
        let root = match msg {
            AckerMsg::Init { root, .. } | AckerMsg::Ack { root, .. } | AckerMsg::Fail { root } => root,
        };
        let n = self.acker.len() as u64;
        // No ackers: trees are not tracked, so there is nothing to say.
        if n > 0 {
            self.acker[(root % n) as usize].push(msg);
        }
    }

    /// Sends everything: acker messages first (a spout's init then precedes
    /// the acks of its tuples), then the tuples, waiting for room in full
    /// queues. Returns false when the run is aborting.
    pub fn flush(&mut self, shared: &Shared) -> bool {
        for (batch, sender) in self.acker.iter_mut().zip(&self.ackers) {
            if !batch.is_empty() {
                let _ = sender.send(std::mem::take(batch));
            }
        }
        let mut ok = true;
        for (exec, batch) in self.data.iter_mut().enumerate() {
            if !batch.is_empty() {
                ok &= shared.queues[exec].push(batch, &shared.abort);
            }
        }
        ok
    }
}

/// The state of one task that outlives its plugin instances.
pub struct TaskCtx {
    /// Task id.
    pub task: i32,
    /// Component id.
    pub component: Arc<str>,
    /// Its index in the topology.
    pub component_index: u32,
    /// The plugin's file name, for messages.
    pub plugin: String,
    /// The limits in force.
    pub limits: Arc<Limits>,
    /// Counters.
    pub stats: Arc<TaskStats>,
    /// The worker.
    pub shared: Arc<Shared>,
    /// Grouping state.
    pub router: Router,
    /// Edge and root ids.
    pub rng: Rng,
    /// The plugin's stdout.
    pub stdout: Capture,
    /// The plugin's stderr.
    pub stderr: Capture,
    /// Bolt: inputs in flight, by local id.
    pub in_flight: FxHashMap<u64, InFlight>,
    /// Spout: tracked trees: root -> (message id, emitted at).
    pub pending: FxHashMap<u64, (String, Instant)>,
    /// Inputs acked or failed during the current call.
    resolved: Vec<u64>,
    /// The current call's effects.
    pub ops: Vec<Op>,
    /// `--tap` of this component: the streams (empty: all).
    tap: Option<Vec<String>>,
    budget: CallBudget,
    log_rate: LogRate,
    warned_metric: Vec<String>,
    registered_metrics: Vec<String>,
}

impl TaskCtx {
    /// The state of task `task` of the topology's component `index`.
    pub fn new(
        topology: &Topology,
        index: usize,
        task: i32,
        plugin: String,
        limits: Arc<Limits>,
        shared: Arc<Shared>,
    ) -> Self {
        let c = &topology.components[index];
        let component = c.id.clone();
        TaskCtx {
            tap: shared.taps.get(&*component).cloned(),
            task,
            component,
            component_index: index as u32,
            plugin,
            log_rate: LogRate::new(limits.log_lines_per_sec),
            limits,
            stats: Arc::new(TaskStats::default()),
            shared,
            router: Router::new(topology, c),
            rng: Rng::new(task as u64),
            stdout: Capture::default(),
            stderr: Capture::default(),
            in_flight: FxHashMap::default(),
            pending: FxHashMap::default(),
            resolved: Vec::new(),
            ops: Vec::new(),
            budget: CallBudget::default(),
            warned_metric: Vec::new(),
            registered_metrics: c.metrics.clone(),
        }
    }

    /// State for an instance started apart from the task (a new version
    /// being readied for a hot swap): the task's routes, limits and
    /// counters, nothing in flight, and captures of its own.
    pub fn detached(&self) -> TaskCtx {
        TaskCtx {
            task: self.task,
            component: self.component.clone(),
            component_index: self.component_index,
            plugin: self.plugin.clone(),
            limits: self.limits.clone(),
            stats: self.stats.clone(),
            shared: self.shared.clone(),
            router: self.router.clone(),
            rng: Rng::new(self.task as u64),
            stdout: Capture::default(),
            stderr: Capture::default(),
            in_flight: FxHashMap::default(),
            pending: FxHashMap::default(),
            resolved: Vec::new(),
            ops: Vec::new(),
            tap: self.tap.clone(),
            budget: CallBudget::default(),
            log_rate: LogRate::new(self.limits.log_lines_per_sec),
            warned_metric: self.warned_metric.clone(),
            registered_metrics: self.registered_metrics.clone(),
        }
    }

    /// Moves the task's state (inputs in flight, pending trees, routing
    /// state) to the instance that takes over; each side keeps its own
    /// stdout and stderr captures, which its instance's WASI writes to.
    pub fn hand_over(&mut self, to: &mut TaskCtx) {
        std::mem::swap(self, to);
        std::mem::swap(&mut self.stdout, &mut to.stdout);
        std::mem::swap(&mut self.stderr, &mut to.stderr);
        // What the new instance emitted in `prepare`/`open` stays with it,
        // to be committed through the task's real routes.
        std::mem::swap(&mut self.ops, &mut to.ops);
    }

    /// Acks input `id` after emitting `values` anchored to it on the
    /// dead-letter stream of `policy` (its tree goes on with the dead
    /// letter). Between calls only. False when the stream cannot be
    /// emitted on (the input then stays in flight).
    pub fn dead_letter(&mut self, id: u64, values: Vec<u8>, policy: &Poison, out: &mut Outbox) -> bool {
        // Whatever a start left staged was never the call's to commit.
        self.ops.clear();
        if let Err(e) = self.emit(&policy.stream, None, values, vec![id], None, false) {
            self.plugin_log(LogLevel::Error, &format!("cannot dead-letter tuple {id}: {e}"));
            return false;
        }
        self.commit(out);
        self.ack(id, out);
        add(&self.stats.dead_lettered, 1);
        if let Some(metric) = &policy.metric {
            TaskSide::metrics(self, metric, &[0x01]);
        }
        true
    }

    /// Before each call.
    pub fn begin_call(&mut self) {
        self.budget.reset();
        self.resolved.clear();
        self.ops.clear();
    }

    /// The call trapped: its effects are dropped.
    pub fn discard(&mut self) {
        self.ops.clear();
        self.resolved.clear();
    }

    /// Whether the current call emitted anything.
    pub fn emitted(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::Emit { .. }))
    }

    /// The call returned: its effects go into `out`.
    pub fn commit(&mut self, out: &mut Outbox) {
        let now = Instant::now();
        let mut ops = std::mem::take(&mut self.ops);
        for op in ops.drain(..) {
            match op {
                Op::Emit { stream, values, targets, anchors, message_id } => {
                    if self.tap.is_some() {
                        self.tap_emit(stream, &values, &targets, message_id.as_deref());
                    }
                    self.commit_emit(out, stream, values, targets, anchors, message_id, now);
                }
                Op::Ack(id) => self.ack(id, out),
                Op::Fail(id) => self.fail(id, out),
            }
        }
        self.ops = ops;
        self.resolved.clear();
    }

    #[allow(clippy::too_many_arguments)]
    fn commit_emit(
        &mut self,
        out: &mut Outbox,
        stream: u32,
        values: Vec<u8>,
        targets: Vec<i32>,
        anchors: Vec<u64>,
        message_id: Option<String>,
        now: Instant,
    ) {
        add(&self.stats.emitted, 1);
        add(&self.stats.transferred, targets.len() as u64);
        let (mut owned, shared) = if targets.len() > 1 { (None, Some(Arc::new(values))) } else { (Some(values), None) };
        // The roots of each copy; a spout's tracked tuple gets a new tree.
        let mut tree = None;
        if let Some(message_id) = message_id {
            add(&self.stats.tracked, 1);
            add(&self.stats.pending, 1);
            let root = self.rng.next();
            self.pending.insert(root, (message_id, now));
            if targets.is_empty() || !self.shared.acking {
                out.immediate.push(Note { task: self.task, root, verdict: Verdict::Acked });
            } else {
                tree = Some((root, 0u64));
            }
        }
        let tracked_anchors = self.shared.acking && !anchors.is_empty();
        for &dest in &targets {
            let roots = if let Some((root, val)) = tree.as_mut() {
                let edge = self.rng.next();
                *val ^= edge;
                Roots::One((*root, edge))
            } else if tracked_anchors {
                // Storm: one edge per (copy, anchor), XORed into the anchor's
                // ack value and into the copy's id under each of its roots.
                let mut pairs = Vec::new();
                for a in &anchors {
                    let Some(input) = self.in_flight.get_mut(a) else { continue };
                    if matches!(input.roots, Roots::None) {
                        continue;
                    }
                    let edge = self.rng.next();
                    input.ack_val ^= edge;
                    pairs.extend(input.roots.pairs().iter().map(|&(root, _)| (root, edge)));
                }
                Roots::from_pairs(pairs)
            } else {
                Roots::None
            };
            let exec = self.shared.executor_of[dest as usize];
            out.data[exec].push(Tuple {
                dest,
                source_task: self.task,
                source: self.component_index,
                stream,
                values: match &shared {
                    Some(shared) => Payload::Shared(shared.clone()),
                    None => Payload::Owned(owned.take().unwrap_or_default()),
                },
                roots,
            });
        }
        if let Some((root, val)) = tree {
            out.tell_acker(AckerMsg::Init { root, val, spout_task: self.task });
        }
    }

    /// Acks an input in flight (after the call's emits).
    pub fn ack(&mut self, id: u64, out: &mut Outbox) {
        let Some(input) = self.in_flight.remove(&id) else { return };
        if !input.tick {
            add(&self.stats.acked, 1);
        }
        for &(root, edge) in input.roots.pairs() {
            out.tell_acker(AckerMsg::Ack { root, val: edge ^ input.ack_val });
        }
    }

    /// Fails an input in flight: its trees fail at once.
    pub fn fail(&mut self, id: u64, out: &mut Outbox) {
        let Some(input) = self.in_flight.remove(&id) else { return };
        add(&self.stats.failed, 1);
        for &(root, _) in input.roots.pairs() {
            out.tell_acker(AckerMsg::Fail { root });
        }
    }

    fn tap_emit(&self, stream: u32, values: &[u8], targets: &[i32], message_id: Option<&str>) {
        let Some(streams) = &self.tap else { return };
        let stream = &self.shared.names[self.component_index as usize].1[stream as usize];
        if !streams.is_empty() && !streams.iter().any(|s| s == stream) {
            return;
        }
        let values = rmpv::decode::read_value(&mut &values[..])
            .ok()
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or(serde_json::Value::Null);
        let mut line = serde_json::json!({
            "component": &*self.component, "task": self.task, "stream": stream, "values": values, "to": targets,
        });
        if let Some(id) = message_id {
            line["message_id"] = id.into();
        }
        self.shared.tap_line(&line.to_string());
    }

    /// A spout's verdict, on the tap.
    pub fn tap_verdict(&self, message_id: &str, verdict: Verdict) {
        if self.tap.is_none() {
            return;
        }
        let (event, timed_out) = match verdict {
            Verdict::Acked => ("ack", false),
            Verdict::Failed => ("fail", false),
            Verdict::TimedOut => ("fail", true),
        };
        let mut line = serde_json::json!({"component": &*self.component, "task": self.task, "timed_out": timed_out});
        line[event] = message_id.into();
        self.shared.tap_line(&line.to_string());
    }

    /// A log line of (or about) the plugin: to stderr, cut to the line limit
    /// and rate-limited.
    pub fn plugin_log(&mut self, level: LogLevel, message: &str) {
        let n = level as u8;
        if n < self.shared.plugin_log_level || !self.log_rate.allow() {
            return;
        }
        if self.log_rate.dropped > 0 {
            let dropped = std::mem::take(&mut self.log_rate.dropped);
            eprintln!(
                "{}:{} WARN {dropped} log lines dropped (over {}/s, storm.wasm.log.lines.per.sec)",
                self.component, self.task, self.limits.log_lines_per_sec
            );
        }
        let name = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"][n as usize];
        eprintln!("{}:{} {name} {}", self.component, self.task, truncate(message, self.limits.max_log_line));
    }

    /// Sends the plugin's captured stdout and stderr to the log (stdout at
    /// INFO, stderr at WARN) and returns the stderr lines.
    pub fn drain_stdio(&mut self, all: bool) -> Vec<String> {
        let (log, err) = crate::stdio::drain(&self.stdout, &self.stderr, all);
        for (warn, line) in log {
            self.plugin_log(if warn { LogLevel::Warn } else { LogLevel::Info }, &line);
        }
        err
    }

    /// A local input id from the plugin, if it names an input in flight.
    fn input(&self, id: &str) -> Option<u64> {
        let id = id.parse().ok()?;
        (self.in_flight.contains_key(&id) && !self.resolved.contains(&id)).then_some(id)
    }

    fn anchors(&self, anchors: &[String]) -> Result<Vec<u64>, String> {
        anchors
            .iter()
            .map(|a| {
                self.input(a).ok_or_else(|| {
                    format!("cannot anchor to tuple {a}: it is not an input in flight (already acked or failed, or never received)")
                })
            })
            .collect()
    }

    fn emit(
        &mut self,
        stream: &str,
        direct: Option<i32>,
        values: Vec<u8>,
        anchors: Vec<u64>,
        message_id: Option<String>,
        want_ids: bool,
    ) -> Result<Vec<i32>, String> {
        let mut targets = Vec::new();
        let stream = match direct {
            Some(task) => self.router.route_direct(stream, task, &values, &mut targets)?,
            None => self.router.route(stream, &values, &mut self.rng, &mut targets)?,
        };
        let ids = if want_ids { targets.clone() } else { Vec::new() };
        self.ops.push(Op::Emit { stream, values, targets, anchors, message_id });
        Ok(ids)
    }

    fn resolve(&mut self, id: &str, ack: bool) -> Result<(), String> {
        let Some(local) = self.input(id) else {
            return Err(format!(
                "cannot {} tuple {id}: it is not an input in flight (already acked or failed, or never received)",
                if ack { "ack" } else { "fail" }
            ));
        };
        self.resolved.push(local);
        self.ops.push(if ack { Op::Ack(local) } else { Op::Fail(local) });
        Ok(())
    }
}

/// The store data of a plugin in the native worker.
pub type WorkerHost = PluginState<TaskCtx>;

impl TaskSide for TaskCtx {
    fn max_memory(&self) -> usize {
        self.limits.max_memory
    }

    fn spend(&mut self, bytes: usize, emit: bool) -> wasmtime::Result<()> {
        self.budget.spend(&self.limits, bytes, emit)
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        self.plugin_log(level, message);
    }

    fn report_error(&mut self, message: &str) {
        add(&self.stats.errors, 1);
        self.plugin_log(LogLevel::Error, &format!("reported error: {message}"));
    }

    fn metrics(&mut self, name: &str, params: &[u8]) {
        // As Storm's CountShellMetric: a number adds, nil adds one.
        let delta = match rmpv::decode::read_value(&mut &params[..]) {
            Ok(rmpv::Value::Nil) => Some(1.0),
            Ok(v) => v.as_f64().or_else(|| v.as_i64().map(|i| i as f64)).or_else(|| v.as_u64().map(|u| u as f64)),
            Err(_) => None,
        };
        let Some(delta) = delta else {
            self.plugin_log(LogLevel::Warn, &format!("metric {name} dropped: its params are not a number or nil"));
            return;
        };
        if !self.registered_metrics.iter().any(|m| m == name) && !self.warned_metric.iter().any(|m| m == name) {
            self.warned_metric.push(name.to_string());
            self.plugin_log(
                LogLevel::Warn,
                &format!("metric {name} is not registered with withMetric: on a Storm cluster this kills the worker"),
            );
        }
        let mut metrics = self.shared.metrics.lock().unwrap_or_else(|e| e.into_inner());
        *metrics.entry((self.component.to_string(), name.to_string())).or_insert(0.0) += delta;
    }

    fn emit(&mut self, e: PluginEmit) -> Result<Vec<i32>, String> {
        let anchors = self.anchors(&e.anchors)?;
        TaskCtx::emit(self, &e.stream, e.direct_task, e.values, anchors, e.message_id, e.want_task_ids)
    }

    fn resolve(&mut self, id: &str, ack: bool) -> Result<(), String> {
        TaskCtx::resolve(self, id, ack)
    }
}
