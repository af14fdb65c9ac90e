//! What a plugin instance can reach: the store data behind every host import.
//!
//! A plugin's mistake (an anchor to a tuple no longer in flight, values that
//! are not a list) comes back as the WIT `result`, so the plugin can handle
//! it. Only an exceeded limit traps: the plugin is then out of control and
//! its instance is replaced.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashSet;
use storm_multilang::{msgpack, Emit, LogLevel, Outgoing, Serializer};

use crate::bindings::LogLevel as WitLevel;
use crate::limits::Limits;
use crate::logging::PLUGIN_TARGET;
use crate::output::Output;
use crate::plugin_state::{PluginEmit, PluginState, TaskSide};
use crate::sandbox::{check_values, truncate, CallBudget, LogRate};
use crate::stdio::Capture;

/// How long an emit waits for Storm's task-id reply before giving up.
const TASK_IDS_TIMEOUT: Duration = Duration::from_secs(60);

/// The state of one task that outlives plugin instances (a trap replaces
/// the instance, not this).
pub struct TaskIo {
    /// Storm.
    pub output: Arc<Output>,
    /// The plugin's file name, for messages.
    pub plugin: String,
    /// The limits in force.
    pub limits: Arc<Limits>,
    /// Bolt inputs handed to the plugin and not yet acked or failed.
    pub in_flight: FxHashSet<String>,
    /// Storm's replies to emits that asked for task ids, in order.
    pub task_ids: Receiver<Vec<i32>>,
    /// The plugin's stdout.
    pub stdout: Capture,
    /// The plugin's stderr.
    pub stderr: Capture,
    /// Bolt calls: emits, acks and fails held until the call returns, so a
    /// call that traps leaves no trace in Storm and can be retried.
    staged: Vec<u8>,
    /// Whether the call in progress is staged (a bolt call).
    staging: bool,
    /// Ids acked or failed during the staged call.
    resolved_in_call: Vec<String>,
    /// Part of the call's output already went to Storm (an emit that waited
    /// for task ids): the call can no longer be retried.
    pub committed: bool,
    budget: CallBudget,
    log_rate: LogRate,
    warned_direct_json: bool,
}

impl TaskIo {
    /// Task state writing to `output`.
    pub fn new(output: Arc<Output>, plugin: String, limits: Arc<Limits>, task_ids: Receiver<Vec<i32>>) -> Self {
        TaskIo {
            output,
            plugin,
            log_rate: LogRate::new(limits.log_lines_per_sec),
            limits,
            in_flight: FxHashSet::default(),
            task_ids,
            stdout: Capture::default(),
            stderr: Capture::default(),
            staged: Vec::new(),
            staging: false,
            resolved_in_call: Vec::new(),
            committed: false,
            budget: CallBudget::default(),
            warned_direct_json: false,
        }
    }

    /// State for an instance prepared apart from the task (a new version
    /// being readied for a hot swap): same Storm, nothing in flight, no
    /// task-id replies.
    pub fn detached(output: Arc<Output>, plugin: String, limits: Arc<Limits>) -> Self {
        TaskIo::new(output, plugin, limits, std::sync::mpsc::channel().1)
    }

    /// Moves the task's tuples in flight and its task-id replies to the
    /// state of the instance that takes over.
    pub fn hand_over(&mut self, to: &mut TaskIo) {
        std::mem::swap(&mut self.in_flight, &mut to.in_flight);
        std::mem::swap(&mut self.task_ids, &mut to.task_ids);
        std::mem::swap(&mut self.log_rate, &mut to.log_rate);
    }

    /// Before each call: a fresh budget; with `stage`, output is held back
    /// until [`commit_call`](Self::commit_call).
    pub fn begin_call(&mut self, stage: bool) {
        self.budget.reset();
        self.committed = false;
        self.resolved_in_call.clear();
        // The buffer is kept from call to call: no allocation per batch.
        self.staged.clear();
        self.staging = stage;
    }

    /// The call returned: its output goes to Storm.
    pub fn commit_call(&mut self) {
        if self.staging && !self.staged.is_empty() {
            if let Err(e) = self.output.send_encoded(&self.staged) {
                tracing::error!("cannot write to Storm: {e}");
            }
        }
        self.staged.clear();
        self.staging = false;
        self.resolved_in_call.clear();
    }

    /// The call trapped: its held output is dropped and the tuples it acked
    /// or failed are in flight again.
    pub fn discard_call(&mut self) {
        self.staged.clear();
        self.staging = false;
        for id in self.resolved_in_call.drain(..) {
            self.in_flight.insert(id);
        }
    }

    /// Sends the plugin's captured stdout/stderr to Storm as log lines
    /// (stdout at INFO, stderr at WARN) and returns the stderr lines.
    pub fn drain_stdio(&mut self, all: bool) -> Vec<String> {
        let (log, err) = crate::stdio::drain(&self.stdout, &self.stderr, all);
        for (warn, line) in log {
            self.plugin_log(if warn { LogLevel::Warn } else { LogLevel::Info }, &line);
        }
        err
    }

    /// A log line about the plugin: to Storm, and to stderr at debug. Cut to
    /// the line limit and rate-limited.
    pub fn plugin_log(&mut self, level: LogLevel, message: &str) {
        if !self.log_rate.allow() {
            return;
        }
        if self.log_rate.dropped > 0 {
            let dropped = std::mem::take(&mut self.log_rate.dropped);
            let note = format!(
                "{dropped} log lines of plugin {} dropped (over {}/s, storm.wasm.log.lines.per.sec)",
                self.plugin, self.limits.log_lines_per_sec
            );
            let _ = self.output.log(LogLevel::Warn, &note);
        }
        let message = truncate(message, self.limits.max_log_line);
        tracing::debug!(target: PLUGIN_TARGET, plugin = %self.plugin, "{message}");
        if let Err(e) = self.output.log(level, &message) {
            tracing::warn!("cannot send a plugin log line to Storm: {e}");
        }
    }

    fn check_anchors(&self, anchors: &[String]) -> Result<(), String> {
        match anchors.iter().find(|a| !self.in_flight.contains(a.as_str())) {
            Some(a) => Err(format!(
                "cannot anchor to tuple {a}: it is not an input in flight (already acked or failed, or never received)"
            )),
            None => Ok(()),
        }
    }

    /// Sends, or holds while a bolt call is staged.
    fn send(&mut self, msg: &Outgoing<'_>) -> Result<(), String> {
        if self.staging {
            self.output.serializer().encode(msg, &mut self.staged).map_err(|e| e.to_string())
        } else {
            self.output.send(msg).map_err(|e| e.to_string())
        }
    }

    fn emit(&mut self, emit: Emit<'_>) -> Result<Option<Vec<i32>>, String> {
        check_values(emit.values)?;
        if emit.direct_task.is_some() && self.output.serializer() == Serializer::Json && !self.warned_direct_json {
            self.warned_direct_json = true;
            tracing::warn!(
                "direct emit under Storm's JSON serializer: Storm 2.6 to 2.8 die on it (Integer/Long cast in JsonSerializer); use topology.multilang.serializer org.stormwasm.storm.MessagePackSerializer"
            );
        }
        if !emit.need_task_ids {
            return self.send(&Outgoing::Emit(emit)).map(|()| None);
        }
        // Storm must see this emit now to answer it: what the call held
        // back goes first, and the call can no longer be undone.
        if self.staging {
            self.output.send_encoded(&self.staged).map_err(|e| e.to_string())?;
            self.staged.clear();
            self.committed = true;
        }
        // A reply left over from an emit that timed out would answer this one.
        while self.task_ids.try_recv().is_ok() {}
        self.output.send_now(&Outgoing::Emit(emit)).map_err(|e| e.to_string())?;
        match self.task_ids.recv_timeout(TASK_IDS_TIMEOUT) {
            Ok(ids) => Ok(Some(ids)),
            Err(RecvTimeoutError::Timeout) => {
                Err(format!("Storm did not send the task ids within {TASK_IDS_TIMEOUT:?}"))
            }
            Err(RecvTimeoutError::Disconnected) => Err("Storm closed the connection".to_string()),
        }
    }

    fn resolve(&mut self, id: &str, ack: bool) -> Result<(), String> {
        if !self.in_flight.remove(id) {
            return Err(format!(
                "cannot {} tuple {id}: it is not an input in flight (already acked or failed, or never received)",
                if ack { "ack" } else { "fail" }
            ));
        }
        if self.staging {
            self.resolved_in_call.push(id.to_string());
        }
        self.send(&if ack { Outgoing::Ack(id) } else { Outgoing::Fail(id) })
    }
}

/// The store data of a plugin under Storm.
pub type HostState = PluginState<TaskIo>;

impl TaskSide for TaskIo {
    fn max_memory(&self) -> usize {
        self.limits.max_memory
    }

    fn spend(&mut self, bytes: usize, emit: bool) -> wasmtime::Result<()> {
        self.budget.spend(&self.limits, bytes, emit)
    }

    fn log(&mut self, level: WitLevel, message: &str) {
        let level = match level {
            WitLevel::Trace => LogLevel::Trace,
            WitLevel::Debug => LogLevel::Debug,
            WitLevel::Info => LogLevel::Info,
            WitLevel::Warn => LogLevel::Warn,
            WitLevel::Error => LogLevel::Error,
        };
        self.plugin_log(level, message);
    }

    fn report_error(&mut self, message: &str) {
        if !self.log_rate.allow() {
            return;
        }
        let msg = format!("plugin {}: {}", self.plugin, truncate(message, self.limits.max_log_line));
        tracing::debug!(target: PLUGIN_TARGET, "{msg}");
        if let Err(e) = self.output.send(&Outgoing::Error(&msg)) {
            tracing::warn!("cannot report the plugin's error to Storm: {e}");
        }
    }

    fn metrics(&mut self, name: &str, params: &[u8]) {
        if msgpack::value_len(params) != Ok(params.len()) {
            self.plugin_log(
                LogLevel::Warn,
                &format!("metric {name} dropped: its params are not one MessagePack value"),
            );
            return;
        }
        if let Err(e) = self.output.send(&Outgoing::Metrics { name, params }) {
            self.plugin_log(LogLevel::Warn, &format!("metric {name} dropped: {e}"));
        }
    }

    fn emit(&mut self, e: PluginEmit) -> Result<Vec<i32>, String> {
        self.check_anchors(&e.anchors)?;
        let emit = Emit {
            stream: &e.stream,
            anchors: &e.anchors,
            message_id: e.message_id.as_deref(),
            direct_task: e.direct_task,
            need_task_ids: e.want_task_ids,
            values: &e.values,
        };
        Ok(TaskIo::emit(self, emit)?.unwrap_or_default())
    }

    fn resolve(&mut self, id: &str, ack: bool) -> Result<(), String> {
        TaskIo::resolve(self, id, ack)
    }
}
