//! What a plugin instance can reach: the store data behind every host import.
//!
//! Host imports never return a wasmtime error for a plugin's mistake (that
//! would trap and poison the instance); they return the WIT `result` and log.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashSet;
use storm_multilang::{msgpack, Emit, LogLevel, Outgoing, Serializer};
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{bolt, spout, LogLevel as WitLevel};
use crate::logging::PLUGIN_TARGET;
use crate::output::{Output, SendError};
use crate::stdio::Capture;

/// Longest log line passed on; the rest is cut (Storm's log handler and the
/// worker log are not meant for megabytes per line).
const MAX_LOG_LINE: usize = 16 << 10;

/// How long an emit waits for Storm's task-id reply before giving up.
const TASK_IDS_TIMEOUT: Duration = Duration::from_secs(60);

/// The state of one task that outlives plugin instances (a trap replaces
/// the instance, not this).
pub struct TaskIo {
    /// Storm.
    pub output: Arc<Output>,
    /// The plugin's file name, for messages.
    pub plugin: String,
    /// Bolt inputs handed to the plugin and not yet acked or failed.
    pub in_flight: FxHashSet<String>,
    /// Storm's replies to emits that asked for task ids, in order.
    pub task_ids: Receiver<Vec<i32>>,
    /// The plugin's stdout.
    pub stdout: Capture,
    /// The plugin's stderr.
    pub stderr: Capture,
    warned_direct_json: bool,
}

impl TaskIo {
    /// Task state writing to `output`.
    pub fn new(output: Arc<Output>, plugin: String, task_ids: Receiver<Vec<i32>>) -> Self {
        TaskIo {
            output,
            plugin,
            in_flight: FxHashSet::default(),
            task_ids,
            stdout: Capture::default(),
            stderr: Capture::default(),
            warned_direct_json: false,
        }
    }

    /// Sends the plugin's captured stdout/stderr to Storm as log lines
    /// (stdout at INFO, stderr at WARN) and returns the stderr lines.
    pub fn drain_stdio(&mut self, all: bool) -> Vec<String> {
        let (out, out_dropped) = self.stdout.take_lines(all);
        let (err, err_dropped) = self.stderr.take_lines(all);
        for line in &out {
            self.plugin_log(LogLevel::Info, &format!("[stdout] {line}"));
        }
        for line in &err {
            self.plugin_log(LogLevel::Warn, &format!("[stderr] {line}"));
        }
        if out_dropped + err_dropped > 0 {
            self.plugin_log(LogLevel::Warn, &format!("[stdio] {} bytes of output dropped", out_dropped + err_dropped));
        }
        err
    }

    /// A log line from the plugin: to Storm, and to stderr at debug.
    pub fn plugin_log(&mut self, level: LogLevel, message: &str) {
        let message = truncate(message, MAX_LOG_LINE);
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

    fn emit(&mut self, emit: Emit<'_>) -> Result<Option<Vec<i32>>, String> {
        check_values(emit.values)?;
        if emit.direct_task.is_some() && self.output.serializer() == Serializer::Json && !self.warned_direct_json {
            self.warned_direct_json = true;
            tracing::warn!(
                "direct emit under Storm's JSON serializer: Storm 2.6 to 2.8 die on it (Integer/Long cast in JsonSerializer); use topology.multilang.serializer org.stormwasm.storm.MessagePackSerializer"
            );
        }
        let need = emit.need_task_ids;
        if need {
            // A reply left over from an emit that timed out would answer this one.
            while self.task_ids.try_recv().is_ok() {}
        }
        self.output.send(&Outgoing::Emit(emit)).map_err(send_error)?;
        if !need {
            return Ok(None);
        }
        self.output.flush().map_err(|e| format!("cannot write to Storm: {e}"))?;
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
        let msg = if ack { Outgoing::Ack(id) } else { Outgoing::Fail(id) };
        self.output.send(&msg).map_err(send_error)
    }
}

fn send_error(e: SendError) -> String {
    e.to_string()
}

/// The values of an emit must be exactly one MessagePack array: Storm's
/// next component would otherwise get garbage, far from the cause.
fn check_values(values: &[u8]) -> Result<(), String> {
    match msgpack::value_len(values) {
        Ok(len) if len == values.len() && matches!(values[0], 0x90..=0x9f | 0xdc | 0xdd) => Ok(()),
        Ok(len) if len == values.len() => Err("the values are not a MessagePack array".into()),
        Ok(_) => Err("the values hold bytes after one MessagePack array".into()),
        Err(_) => Err("the values are not valid MessagePack".into()),
    }
}

fn truncate(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes cut)", &s[..cut], s.len() - cut).into()
}

/// The data of a plugin's wasmtime store.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory and instance limits, checked by wasmtime.
    pub limits: StoreLimits,
    /// The task.
    pub io: TaskIo,
}

impl HostState {
    /// A fresh sandbox for one instance: no files, no network, no
    /// environment, no stdin; stdout and stderr captured.
    pub fn new(io: TaskIo, max_memory_bytes: usize) -> Self {
        let wasi = WasiCtx::builder().stdout(io.stdout.clone()).stderr(io.stderr.clone()).build();
        let limits =
            StoreLimitsBuilder::new().memory_size(max_memory_bytes).instances(32).tables(64).memories(32).build();
        HostState { wasi, table: ResourceTable::new(), limits, io }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl bolt::storm::plugin::types::Host for HostState {}

impl bolt::storm::plugin::host::Host for HostState {
    fn log(&mut self, level: WitLevel, message: String) {
        let level = match level {
            WitLevel::Trace => LogLevel::Trace,
            WitLevel::Debug => LogLevel::Debug,
            WitLevel::Info => LogLevel::Info,
            WitLevel::Warn => LogLevel::Warn,
            WitLevel::Error => LogLevel::Error,
        };
        self.io.plugin_log(level, &message);
    }

    fn report_error(&mut self, message: String) {
        let msg = format!("plugin {}: {}", self.io.plugin, truncate(&message, MAX_LOG_LINE));
        tracing::debug!(target: PLUGIN_TARGET, "{msg}");
        if let Err(e) = self.io.output.send(&Outgoing::Error(&msg)) {
            tracing::warn!("cannot report the plugin's error to Storm: {e}");
        }
    }

    fn metrics(&mut self, name: String, params: Vec<u8>) {
        if msgpack::value_len(&params) != Ok(params.len()) {
            self.io.plugin_log(
                LogLevel::Warn,
                &format!("metric {name} dropped: its params are not one MessagePack value"),
            );
            return;
        }
        if let Err(e) = self.io.output.send(&Outgoing::Metrics { name: &name, params: &params }) {
            self.io.plugin_log(LogLevel::Warn, &format!("metric {name} dropped: {e}"));
        }
    }
}

impl bolt::storm::plugin::bolt_output::Host for HostState {
    fn emit(&mut self, stream_id: String, anchors: Vec<String>, values: Vec<u8>) -> Result<(), String> {
        self.io.check_anchors(&anchors)?;
        self.io.emit(Emit { stream: &stream_id, anchors: &anchors, values: &values, ..Emit::default() }).map(drop)
    }

    fn emit_with_task_ids(
        &mut self,
        stream_id: String,
        anchors: Vec<String>,
        values: Vec<u8>,
    ) -> Result<Vec<i32>, String> {
        self.io.check_anchors(&anchors)?;
        let emit =
            Emit { stream: &stream_id, anchors: &anchors, values: &values, need_task_ids: true, ..Emit::default() };
        Ok(self.io.emit(emit)?.unwrap_or_default())
    }

    fn emit_direct(
        &mut self,
        task: i32,
        stream_id: String,
        anchors: Vec<String>,
        values: Vec<u8>,
    ) -> Result<(), String> {
        self.io.check_anchors(&anchors)?;
        let emit =
            Emit { stream: &stream_id, anchors: &anchors, values: &values, direct_task: Some(task), ..Emit::default() };
        self.io.emit(emit).map(drop)
    }

    fn ack(&mut self, id: String) -> Result<(), String> {
        self.io.resolve(&id, true)
    }

    fn fail(&mut self, id: String) -> Result<(), String> {
        self.io.resolve(&id, false)
    }
}

impl spout::storm::plugin::spout_output::Host for HostState {
    fn emit(&mut self, stream_id: String, message_id: Option<String>, values: Vec<u8>) -> Result<(), String> {
        self.io
            .emit(Emit { stream: &stream_id, message_id: message_id.as_deref(), values: &values, ..Emit::default() })
            .map(drop)
    }

    fn emit_with_task_ids(
        &mut self,
        stream_id: String,
        message_id: Option<String>,
        values: Vec<u8>,
    ) -> Result<Vec<i32>, String> {
        let emit = Emit {
            stream: &stream_id,
            message_id: message_id.as_deref(),
            values: &values,
            need_task_ids: true,
            ..Emit::default()
        };
        Ok(self.io.emit(emit)?.unwrap_or_default())
    }

    fn emit_direct(
        &mut self,
        task: i32,
        stream_id: String,
        message_id: Option<String>,
        values: Vec<u8>,
    ) -> Result<(), String> {
        let emit = Emit {
            stream: &stream_id,
            message_id: message_id.as_deref(),
            values: &values,
            direct_task: Some(task),
            ..Emit::default()
        };
        self.io.emit(emit).map(drop)
    }
}
