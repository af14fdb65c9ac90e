//! Plugin instances of a task: created on start and again after a trap, in
//! a fresh sandbox each time, from what the task keeps ([`TaskSpec`] and its
//! [`TaskCtx`]).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use wasmtime::{Engine, Store};

use super::host::{TaskCtx, WorkerHost};
use crate::bindings::bolt::Bolt;
use crate::bindings::spout::Spout;
use crate::bindings::{Context, LogLevel};
use crate::engine::{deadline_ticks, Prepared};
use crate::limits::{Grants, Limits};
use crate::sandbox::{self, trap_cause};

/// What a task needs to (re)create its plugin instance.
pub struct TaskSpec {
    /// The engine the plugin was compiled for.
    pub engine: Engine,
    /// The plugin, linked.
    pub prepared: Arc<Prepared<WorkerHost>>,
    /// The conf, as MessagePack.
    pub conf: Arc<Vec<u8>>,
    /// Where the task sits.
    pub context: Context,
    /// The limits in force.
    pub limits: Arc<Limits>,
    /// The capabilities granted.
    pub grants: Arc<Grants>,
}

/// A live bolt instance.
pub struct BoltInstance {
    /// Its store (the task's state lives in its data).
    pub store: Store<WorkerHost>,
    /// Its exports.
    pub bolt: Bolt,
}

/// A live spout instance.
pub struct SpoutInstance {
    /// Its store.
    pub store: Store<WorkerHost>,
    /// Its exports.
    pub spout: Spout,
}

type Init<'a, G> = &'a dyn Fn(&mut Store<WorkerHost>) -> wasmtime::Result<(G, Result<(), String>)>;

/// Creates a store and runs `init` (instantiate + prepare/open) in it,
/// retrying with backoff; `Err` when the plugin keeps failing.
fn start<G>(
    spec: &TaskSpec,
    mut ctx: TaskCtx,
    what: &str,
    restarts: &mut Restarts,
    init: Init<'_, G>,
) -> Result<(Store<WorkerHost>, G), String> {
    loop {
        let reason = match sandbox::wasi_ctx(&spec.grants, &ctx.stdout, &ctx.stderr) {
            Err(e) => format!("{e:#}"),
            Ok(wasi) => {
                let mut store = Store::new(&spec.engine, WorkerHost::new(ctx, wasi));
                store.limiter(|s| &mut s.memory);
                store.set_epoch_deadline(deadline_ticks(spec.limits.start_deadline));
                store.data_mut().io.begin_call();
                let result = init(&mut store);
                let stderr = store.data_mut().io.drain_stdio(true);
                let reason = match result {
                    Ok((guest, Ok(()))) => return Ok((store, guest)),
                    Ok((_, Err(reason))) => format!("{what} returned an error: {reason}"),
                    Err(e) => {
                        format!("{what} {}", trap_cause(&e, &stderr, spec.limits.start_deadline, &store.data().memory))
                    }
                };
                ctx = store.into_data().io;
                ctx.discard();
                reason
            }
        };
        ctx.plugin_log(LogLevel::Error, &format!("plugin {} cannot start: {reason}", ctx.plugin));
        restarts.failed(&spec.limits, &ctx.plugin, &reason)?;
    }
}

/// Instantiates a bolt and runs `prepare`.
pub fn start_bolt(spec: &TaskSpec, ctx: TaskCtx, restarts: &mut Restarts) -> Result<BoltInstance, String> {
    let Prepared::Bolt(pre) = &*spec.prepared else { unreachable!("bolts load the bolt world") };
    let (store, bolt) = start(spec, ctx, "prepare", restarts, &|store| {
        let bolt = pre.instantiate(&mut *store)?;
        let prepared = bolt.storm_plugin_bolt_guest().call_prepare(&mut *store, &spec.conf, &spec.context)?;
        Ok((bolt, prepared))
    })?;
    Ok(BoltInstance { store, bolt })
}

/// Instantiates a spout, runs `open`, and `activate` when `active`.
pub fn start_spout(
    spec: &TaskSpec,
    ctx: TaskCtx,
    active: bool,
    restarts: &mut Restarts,
) -> Result<SpoutInstance, String> {
    let Prepared::Spout(pre) = &*spec.prepared else { unreachable!("spouts load the spout world") };
    let (store, spout) = start(spec, ctx, "open", restarts, &|store| {
        let spout = pre.instantiate(&mut *store)?;
        let guest = spout.storm_plugin_spout_guest();
        let opened = guest.call_open(&mut *store, &spec.conf, &spec.context)?;
        if opened.is_ok() && active {
            guest.call_activate(&mut *store)?;
        }
        Ok((spout, opened))
    })?;
    Ok(SpoutInstance { store, spout })
}

/// Executors report when their instances are up, then wait for the word
/// to go (every task of the topology is prepared before a spout emits).
#[derive(Default)]
pub struct Gate {
    state: Mutex<GateState>,
    cv: Condvar,
}

#[derive(Default)]
struct GateState {
    ready: usize,
    error: Option<String>,
    go: Option<bool>,
}

impl Gate {
    /// An executor is ready (or failed to start); then waits for the go.
    /// Returns whether to run.
    pub fn ready(&self, result: Result<(), String>) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.ready += 1;
        if let Err(e) = result {
            s.error.get_or_insert(e);
        }
        self.cv.notify_all();
        while s.go.is_none() {
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.go == Some(true)
    }

    /// Waits until `executors` are ready or one failed.
    pub fn wait_ready(&self, executors: usize) -> Result<(), String> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while s.ready < executors && s.error.is_none() {
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.error.clone().map_or(Ok(()), Err)
    }

    /// Lets the executors run, or tells them to leave.
    pub fn open(&self, go: bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.go = Some(go);
        self.cv.notify_all();
    }
}

/// Failed calls and starts in a row, with a growing pause between restarts:
/// a plugin broken for every input stops the run with a clear message
/// instead of spinning.
#[derive(Default)]
pub struct Restarts {
    consecutive: u32,
}

impl Restarts {
    /// A call went through.
    pub fn succeeded(&mut self) {
        self.consecutive = 0;
    }

    /// A call trapped or a start failed: waits before the next attempt, or
    /// `Err` after `max.consecutive.traps` in a row.
    pub fn failed(&mut self, limits: &Limits, plugin: &str, cause: &str) -> Result<(), String> {
        self.consecutive += 1;
        if self.consecutive > limits.max_consecutive_traps {
            return Err(format!(
                "plugin {plugin} failed {} times in a row (storm.wasm.max.consecutive.traps = {}); giving up. Last: {cause}",
                self.consecutive, limits.max_consecutive_traps
            ));
        }
        std::thread::sleep(Duration::from_millis(10u64 << (self.consecutive - 1).min(7)));
        Ok(())
    }
}
