//! Plugin instances of a task: created on start, again after a trap, and
//! for each new version of the plugin, in a fresh sandbox each time, from
//! what the task keeps ([`TaskSpec`], its [`TaskCtx`] and its versions).

use std::sync::{Arc, Condvar, Mutex};

use wasmtime::{Engine, Store};

use super::host::{Outbox, TaskCtx, WorkerHost};
use super::stats::add;
use crate::bindings::bolt::Bolt;
use crate::bindings::lifecycle::Lifecycle;
use crate::bindings::spout::Spout;
use crate::bindings::{Context, LogLevel};
use crate::engine::{deadline_ticks, Plugin, Prepared};
use crate::limits::{Grants, Limits};
use crate::restarts::Restarts;
use crate::sandbox::{self, trap_cause};
use crate::task::{lifecycle, restore, Versions};

/// What a task needs to (re)create its plugin instance.
pub struct TaskSpec {
    /// The engine the plugin was compiled for.
    pub engine: Engine,
    /// The conf, as MessagePack.
    pub conf: Arc<Vec<u8>>,
    /// Where the task sits.
    pub context: Context,
    /// The limits in force.
    pub limits: Arc<Limits>,
    /// The capabilities granted.
    pub grants: Arc<Grants>,
}

/// A live plugin instance: a bolt's or a spout's exports (`G`).
pub struct Instance<G> {
    /// Its store (the task's state lives in its data).
    pub store: Store<WorkerHost>,
    /// Its exports.
    pub guest: G,
    /// Its `lifecycle` exports (snapshot and restore), if any.
    pub lifecycle: Option<Lifecycle>,
    /// The version it runs.
    pub plugin: Plugin<WorkerHost>,
}

impl<G> Instance<G> {
    /// Sends what the plugin emitted in `prepare` or `open`, as after a call
    /// (under Storm such emits reach ShellBolt at once; here they would
    /// otherwise be dropped by the next call's start).
    pub fn commit_start(&mut self, out: &mut Outbox) {
        self.store.data_mut().io.commit(out);
    }
}

/// A live bolt instance.
pub type BoltInstance = Instance<Bolt>;
/// A live spout instance.
pub type SpoutInstance = Instance<Spout>;

/// What instantiating a plugin and running its start (`prepare`, `open`)
/// gives: the exports, the lifecycle exports, and what the start returned.
type Started<G> = wasmtime::Result<(G, Option<Lifecycle>, Result<(), String>)>;

/// Instantiates a plugin and runs its start.
type Init<'a, G> = &'a dyn Fn(&Prepared<WorkerHost>, &mut Store<WorkerHost>) -> Started<G>;

/// A start that failed: the task state back (boxed: it is large), and why.
pub type NotStarted = (Box<TaskCtx>, String);

/// Creates a store for `plugin` and runs `init` in it, once; on failure the
/// task state comes back with the reason.
fn try_start<G>(
    spec: &TaskSpec,
    plugin: &Plugin<WorkerHost>,
    ctx: TaskCtx,
    what: &str,
    init: Init<'_, G>,
) -> Result<Instance<G>, NotStarted> {
    let wasi = match sandbox::wasi_ctx(&spec.grants, &ctx.stdout, &ctx.stderr) {
        Ok(wasi) => wasi,
        Err(e) => return Err((Box::new(ctx), format!("{e:#}"))),
    };
    let mut store = Store::new(&spec.engine, WorkerHost::new(ctx, wasi));
    store.limiter(|s| &mut s.memory);
    store.set_epoch_deadline(deadline_ticks(spec.limits.start_deadline));
    store.data_mut().io.begin_call();
    let result = init(&plugin.prepared, &mut store);
    let stderr = store.data_mut().io.drain_stdio(true);
    let reason = match result {
        Ok((guest, lifecycle, Ok(()))) => return Ok(Instance { store, guest, lifecycle, plugin: plugin.clone() }),
        Ok((_, _, Err(reason))) => format!("{what} returned an error: {reason}"),
        Err(e) => format!("{what} {}", trap_cause(&e, &stderr, spec.limits.start_deadline, &store.data().memory)),
    };
    let mut ctx = Box::new(store.into_data().io);
    ctx.discard();
    Err((ctx, reason))
}

/// Starts an instance of the task's current version, retrying with
/// backoff; after a rollback it gets the state the previous version had at
/// the switch. `Err` when the plugin keeps failing.
fn start<G>(
    spec: &TaskSpec,
    versions: &mut Versions<WorkerHost>,
    mut ctx: TaskCtx,
    what: &str,
    restarts: &mut Restarts,
    init: Init<'_, G>,
) -> Result<Instance<G>, String> {
    loop {
        match try_start(spec, &versions.current, ctx, what, init) {
            Ok(mut inst) => {
                if let Some((from, state)) = versions.take_restore() {
                    if let Err(reason) = restore(inst.lifecycle.as_ref(), &mut inst.store, &spec.limits, &from, &state)
                    {
                        let note =
                            format!("plugin {}: state not restored after the rollback: {reason}", inst.plugin.name);
                        inst.store.data_mut().io.plugin_log(LogLevel::Warn, &note);
                    }
                }
                return Ok(inst);
            }
            Err((back, reason)) => {
                ctx = *back;
                ctx.plugin_log(LogLevel::Error, &format!("plugin {} cannot start: {reason}", ctx.plugin));
                after_failure(restarts, &spec.limits, versions, &mut ctx, &reason)?;
            }
        }
    }
}

fn init_bolt(spec: &TaskSpec) -> impl Fn(&Prepared<WorkerHost>, &mut Store<WorkerHost>) -> Started<Bolt> + '_ {
    move |prepared, store| {
        let Prepared::Bolt(pre) = prepared else { unreachable!("bolts load the bolt world") };
        let instance = pre.instance_pre().instantiate(&mut *store)?;
        let bolt = Bolt::new(&mut *store, &instance)?;
        let lifecycle = lifecycle(pre.instance_pre(), store, &instance)?;
        let prepared = bolt.storm_plugin_bolt_guest().call_prepare(&mut *store, &spec.conf, &spec.context)?;
        Ok((bolt, lifecycle, prepared))
    }
}

fn init_spout(
    spec: &TaskSpec,
    active: bool,
) -> impl Fn(&Prepared<WorkerHost>, &mut Store<WorkerHost>) -> Started<Spout> + '_ {
    move |prepared, store| {
        let Prepared::Spout(pre) = prepared else { unreachable!("spouts load the spout world") };
        let instance = pre.instance_pre().instantiate(&mut *store)?;
        let spout = Spout::new(&mut *store, &instance)?;
        let lifecycle = lifecycle(pre.instance_pre(), store, &instance)?;
        let guest = spout.storm_plugin_spout_guest();
        let opened = guest.call_open(&mut *store, &spec.conf, &spec.context)?;
        if opened.is_ok() && active {
            guest.call_activate(&mut *store)?;
        }
        Ok((spout, lifecycle, opened))
    }
}

/// Instantiates the current version of a bolt and runs `prepare`.
pub fn start_bolt(
    spec: &TaskSpec,
    versions: &mut Versions<WorkerHost>,
    ctx: TaskCtx,
    restarts: &mut Restarts,
) -> Result<BoltInstance, String> {
    start(spec, versions, ctx, "prepare", restarts, &init_bolt(spec))
}

/// Instantiates the current version of a spout, runs `open`, and
/// `activate` when `active`.
pub fn start_spout(
    spec: &TaskSpec,
    versions: &mut Versions<WorkerHost>,
    ctx: TaskCtx,
    active: bool,
    restarts: &mut Restarts,
) -> Result<SpoutInstance, String> {
    start(spec, versions, ctx, "open", restarts, &init_spout(spec, active))
}

/// One attempt at a bolt instance of `plugin` (a new version).
pub fn try_start_bolt(spec: &TaskSpec, plugin: &Plugin<WorkerHost>, ctx: TaskCtx) -> Result<BoltInstance, NotStarted> {
    try_start(spec, plugin, ctx, "prepare", &init_bolt(spec))
}

/// One attempt at a spout instance of `plugin` (a new version).
pub fn try_start_spout(
    spec: &TaskSpec,
    plugin: &Plugin<WorkerHost>,
    ctx: TaskCtx,
    active: bool,
) -> Result<SpoutInstance, NotStarted> {
    try_start(spec, plugin, ctx, "open", &init_spout(spec, active))
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

/// [`Restarts::after_failure`] with a rollback counted in the task's stats
/// and logged as the plugin's error.
pub fn after_failure(
    restarts: &mut Restarts,
    limits: &Limits,
    versions: &mut Versions<WorkerHost>,
    ctx: &mut TaskCtx,
    cause: &str,
) -> Result<bool, String> {
    let plugin = ctx.plugin.clone();
    restarts.after_failure(limits, versions, &plugin, cause, |message| {
        add(&ctx.stats.rollbacks, 1);
        ctx.plugin_log(LogLevel::Error, message);
    })
}
