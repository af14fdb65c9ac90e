//! The data of a plugin's wasmtime store, and the storm:plugin imports,
//! implemented once for both places a plugin runs: under Storm (the task
//! side is [`TaskIo`](crate::state::TaskIo), which writes to Storm's pipe)
//! and in the native worker (`TaskCtx`, which feeds in-process queues).
//!
//! Every import first spends the per-call budget (an exceeded limit traps:
//! the plugin is out of control), then asks the task side. A plugin's mistake
//! (an anchor to a tuple not in flight, values that are not a list) comes
//! back as the WIT `result`, so the plugin can handle it.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{bolt, spout, LogLevel};
use crate::sandbox::{anchors_len, MemoryLimiter};

/// One emit, as a plugin made it.
pub struct PluginEmit {
    /// The stream.
    pub stream: String,
    /// A bolt's anchors: ids of its inputs in flight.
    pub anchors: Vec<String>,
    /// A spout's message id.
    pub message_id: Option<String>,
    /// A direct emit's task.
    pub direct_task: Option<i32>,
    /// One MessagePack array.
    pub values: Vec<u8>,
    /// Whether the plugin waits for the receiving task ids.
    pub want_task_ids: bool,
}

/// Where a plugin instance's imports go.
pub trait TaskSide: Send + 'static {
    /// The memory cap of an instance, in bytes.
    fn max_memory(&self) -> usize;
    /// Counts what a call hands the host; an error traps the call.
    fn spend(&mut self, bytes: usize, emit: bool) -> wasmtime::Result<()>;
    /// A log line of the plugin.
    fn log(&mut self, level: LogLevel, message: &str);
    /// An error the plugin reports (fails nothing).
    fn report_error(&mut self, message: &str);
    /// A metric update; `params` is one MessagePack value.
    fn metrics(&mut self, name: &str, params: &[u8]);
    /// An emit; the receiving task ids when asked for, else empty.
    fn emit(&mut self, emit: PluginEmit) -> Result<Vec<i32>, String>;
    /// Acks or fails an input in flight.
    fn resolve(&mut self, id: &str, ack: bool) -> Result<(), String>;
}

/// The data of a plugin's store: its WASI context, its memory limiter, and
/// the task side.
pub struct PluginState<T> {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Total memory of the instance.
    pub memory: MemoryLimiter,
    /// The task.
    pub io: T,
}

impl<T: TaskSide> PluginState<T> {
    /// A fresh sandbox for one instance (`wasi` from [`crate::sandbox::wasi_ctx`]).
    pub fn new(io: T, wasi: WasiCtx) -> Self {
        let memory = MemoryLimiter::new(io.max_memory());
        PluginState { wasi, table: ResourceTable::new(), memory, io }
    }

    fn emit(&mut self, emit: PluginEmit) -> wasmtime::Result<Result<Vec<i32>, String>> {
        let bytes = emit.stream.len()
            + anchors_len(&emit.anchors)
            + emit.message_id.as_ref().map_or(0, String::len)
            + emit.values.len();
        self.io.spend(bytes, true)?;
        Ok(self.io.emit(emit))
    }
}

fn bolt_emit(stream: String, anchors: Vec<String>, values: Vec<u8>, task: Option<i32>, ids: bool) -> PluginEmit {
    PluginEmit { stream, anchors, message_id: None, direct_task: task, values, want_task_ids: ids }
}

fn spout_emit(stream: String, id: Option<String>, values: Vec<u8>, task: Option<i32>, ids: bool) -> PluginEmit {
    PluginEmit { stream, anchors: Vec::new(), message_id: id, direct_task: task, values, want_task_ids: ids }
}

impl<T: Send> WasiView for PluginState<T> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl<T: TaskSide> bolt::storm::plugin::types::Host for PluginState<T> {}

impl<T: TaskSide> bolt::storm::plugin::host::Host for PluginState<T> {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.io.spend(message.len(), false)?;
        self.io.log(level, &message);
        Ok(())
    }

    fn report_error(&mut self, message: String) -> wasmtime::Result<()> {
        self.io.spend(message.len(), false)?;
        self.io.report_error(&message);
        Ok(())
    }

    fn metrics(&mut self, name: String, params: Vec<u8>) -> wasmtime::Result<()> {
        self.io.spend(name.len() + params.len(), false)?;
        self.io.metrics(&name, &params);
        Ok(())
    }
}

impl<T: TaskSide> bolt::storm::plugin::bolt_output::Host for PluginState<T> {
    fn emit(
        &mut self,
        stream_id: String,
        anchors: Vec<String>,
        values: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(self.emit(bolt_emit(stream_id, anchors, values, None, false))?.map(drop))
    }

    fn emit_with_task_ids(
        &mut self,
        stream_id: String,
        anchors: Vec<String>,
        values: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<i32>, String>> {
        self.emit(bolt_emit(stream_id, anchors, values, None, true))
    }

    fn emit_direct(
        &mut self,
        task: i32,
        stream_id: String,
        anchors: Vec<String>,
        values: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(self.emit(bolt_emit(stream_id, anchors, values, Some(task), false))?.map(drop))
    }

    fn ack(&mut self, id: String) -> wasmtime::Result<Result<(), String>> {
        self.io.spend(id.len(), false)?;
        Ok(self.io.resolve(&id, true))
    }

    fn fail(&mut self, id: String) -> wasmtime::Result<Result<(), String>> {
        self.io.spend(id.len(), false)?;
        Ok(self.io.resolve(&id, false))
    }
}

impl<T: TaskSide> spout::storm::plugin::spout_output::Host for PluginState<T> {
    fn emit(
        &mut self,
        stream_id: String,
        message_id: Option<String>,
        values: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(self.emit(spout_emit(stream_id, message_id, values, None, false))?.map(drop))
    }

    fn emit_with_task_ids(
        &mut self,
        stream_id: String,
        message_id: Option<String>,
        values: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<i32>, String>> {
        self.emit(spout_emit(stream_id, message_id, values, None, true))
    }

    fn emit_direct(
        &mut self,
        task: i32,
        stream_id: String,
        message_id: Option<String>,
        values: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(self.emit(spout_emit(stream_id, message_id, values, Some(task), false))?.map(drop))
    }
}
