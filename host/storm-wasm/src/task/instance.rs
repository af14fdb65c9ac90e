//! Plugin instances of a task, and the versions of the plugin: which one
//! serves, which one it replaced (kept until the new one has proved itself),
//! and the switch from one to the other.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use storm_multilang::{LogLevel, Outgoing};
use wasmtime::{Engine, Store};

use crate::bindings::bolt::Bolt;
use crate::bindings::lifecycle::{Lifecycle, LifecycleIndices};
use crate::bindings::spout::Spout;
use crate::bindings::Context;
use crate::engine::{deadline_ticks, Plugin, Prepared};
use crate::limits::{Grants, Limits};
use crate::logging::PLUGIN_TARGET;
use crate::output::Output;
use crate::sandbox::{self, trap_cause};
use crate::state::{HostState, TaskIo};

/// A new version that traps this many times within [`PROBATION`] of taking
/// over is replaced by the version it replaced (a trapped batch is retried
/// tuple by tuple, so a version broken for every tuple reaches it at once).
pub(crate) const ROLLBACK_AFTER_TRAPS: u32 = 2;
/// How long a new version is on probation.
pub(crate) const PROBATION: Duration = Duration::from_secs(60);

/// Everything needed to start an instance; cloned to the thread that
/// prepares new versions off the data path.
#[derive(Clone)]
pub(crate) struct Starter {
    pub engine: Engine,
    pub conf: Arc<Vec<u8>>,
    pub context: Context,
    pub limits: Arc<Limits>,
    pub grants: Grants,
    /// A spout's topology is active: a new instance is activated too.
    pub active: Arc<AtomicBool>,
}

/// The plugin's exports in one instance.
pub(crate) enum Guest {
    Bolt(Bolt),
    Spout(Spout),
}

/// One plugin instance and the store it lives in.
pub(crate) struct Instance {
    pub store: Store<HostState>,
    pub guest: Guest,
    pub lifecycle: Option<Lifecycle>,
    /// The version it runs.
    pub plugin: Plugin,
}

impl Instance {
    pub fn io(&mut self) -> &mut TaskIo {
        &mut self.store.data_mut().io
    }

    pub fn bolt(&self) -> &Bolt {
        match &self.guest {
            Guest::Bolt(b) => b,
            Guest::Spout(_) => unreachable!("a bolt task runs bolts"),
        }
    }

    /// The spout's exports (a copy of the handle, so the store can be
    /// borrowed alongside).
    pub fn guest_spout(&self) -> crate::bindings::spout::exports::storm::plugin::spout_guest::Guest {
        match &self.guest {
            Guest::Spout(s) => s.storm_plugin_spout_guest().clone(),
            Guest::Bolt(_) => unreachable!("a spout task runs spouts"),
        }
    }
}

/// A start that failed: the task state back (boxed: it is large), and why.
pub(crate) type NotStarted = (Box<TaskIo>, String);

/// Instantiates `plugin` and runs `prepare` or `open` (and `activate` for a
/// spout of an active topology). On failure the task state comes back.
pub(crate) fn start(starter: &Starter, plugin: &Plugin, io: TaskIo) -> Result<Instance, NotStarted> {
    let state = match sandbox::wasi_ctx(&starter.grants, &io.stdout, &io.stderr) {
        Ok(wasi) => HostState::new(io, wasi),
        Err(e) => return Err((Box::new(io), format!("{e:#}"))),
    };
    let mut store = Store::new(&starter.engine, state);
    store.limiter(|s| &mut s.memory);
    store.set_epoch_deadline(deadline_ticks(starter.limits.start_deadline));
    store.data_mut().io.begin_call(false);
    let what = match &*plugin.prepared {
        Prepared::Bolt(_) => "prepare",
        Prepared::Spout(_) => "open",
    };
    let result = (|| -> wasmtime::Result<(Guest, Option<Lifecycle>, Result<(), String>)> {
        let (instance_pre, guest) = match &*plugin.prepared {
            Prepared::Bolt(pre) => {
                let instance = pre.instance_pre().instantiate(&mut store)?;
                let bolt = Bolt::new(&mut store, &instance)?;
                let lifecycle = lifecycle(pre.instance_pre(), &mut store, &instance)?;
                let prepared =
                    bolt.storm_plugin_bolt_guest().call_prepare(&mut store, &starter.conf, &starter.context)?;
                return Ok((Guest::Bolt(bolt), lifecycle, prepared));
            }
            Prepared::Spout(pre) => (pre.instance_pre(), pre.instance_pre().instantiate(&mut store)?),
        };
        let spout = Spout::new(&mut store, &guest)?;
        let lifecycle = lifecycle(instance_pre, &mut store, &guest)?;
        let api = spout.storm_plugin_spout_guest();
        let opened = api.call_open(&mut store, &starter.conf, &starter.context)?;
        if opened.is_ok() && starter.active.load(Ordering::Relaxed) {
            api.call_activate(&mut store)?;
        }
        Ok((Guest::Spout(spout), lifecycle, opened))
    })();
    let stderr = store.data_mut().io.drain_stdio(true);
    match result {
        Ok((guest, lifecycle, Ok(()))) => Ok(Instance { store, guest, lifecycle, plugin: plugin.clone() }),
        Ok((_, _, Err(reason))) => Err((Box::new(store.into_data().io), format!("{what} returned an error: {reason}"))),
        Err(e) => {
            let cause = trap_cause(&e, &stderr, starter.limits.start_deadline, &store.data().memory);
            Err((Box::new(store.into_data().io), format!("{what} {cause}")))
        }
    }
}

/// The plugin's `lifecycle` exports, when it has them.
pub(crate) fn lifecycle<T>(
    pre: &wasmtime::component::InstancePre<T>,
    store: &mut Store<T>,
    instance: &wasmtime::component::Instance,
) -> wasmtime::Result<Option<Lifecycle>> {
    match LifecycleIndices::new(pre) {
        Ok(indices) => Ok(Some(indices.load(store, instance)?)),
        Err(_) => Ok(None),
    }
}

/// The host's own metrics, sent to Storm as multi-lang `metrics` commands.
///
/// Storm kills a ShellBolt or ShellSpout that reports a metric not
/// registered on the Java side, so they are sent only with
/// `--storm-metrics`, which `WasmBolt`/`WasmSpout` pass after registering
/// every name below as a `CountShellMetric`. Each command adds 1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HostMetrics {
    enabled: bool,
}

/// New versions that took over.
pub(crate) const SWAPS_METRIC: &str = "storm-wasm.swaps";
/// New versions rolled back to the version they replaced.
pub(crate) const ROLLBACKS_METRIC: &str = "storm-wasm.rollbacks";
/// New files refused (did not compile, link, prepare or restore).
pub(crate) const REFUSED_METRIC: &str = "storm-wasm.refused";

impl HostMetrics {
    /// Metrics go to Storm only when `enabled` (the Java side registered them).
    pub fn new(enabled: bool) -> Self {
        HostMetrics { enabled }
    }

    /// Adds one to the metric `name`. Called only from the task thread,
    /// inside a spout's command cycle (before its `sync`) or between a
    /// bolt's batches; the frame is queued whole, like every other message.
    pub fn count(self, output: &Output, name: &str) {
        if !self.enabled {
            return;
        }
        // 0x01: the MessagePack positive fixint 1 (JSON: `"params":1`).
        if let Err(e) = output.send(&Outgoing::Metrics { name, params: &[0x01] }) {
            tracing::warn!("cannot send the metric {name} to Storm: {e}");
        }
    }
}

/// The versions of the plugin in a task (`T`: the data of its stores).
pub(crate) struct Versions<T: 'static = HostState> {
    /// The version new instances run.
    pub current: Plugin<T>,
    probation: Option<Probation<T>>,
    /// State to restore into the next instance started (after a rollback).
    restore_next: Option<(String, Vec<u8>)>,
    /// Swaps done.
    pub swaps: u64,
    /// Rollbacks done.
    pub rollbacks: u64,
    /// New versions refused.
    pub refused: u64,
}

/// The version a new one replaced, kept until the new one proves itself.
struct Probation<T: 'static> {
    previous: Plugin<T>,
    /// The previous version's state at the switch, for a rollback.
    state: Option<(String, Vec<u8>)>,
    since: Instant,
    traps: u32,
}

impl<T> Versions<T> {
    pub fn new(current: Plugin<T>) -> Self {
        Versions { current, probation: None, restore_next: None, swaps: 0, rollbacks: 0, refused: 0 }
    }

    /// A new version was refused (the old one keeps running).
    pub fn on_refused(&mut self) {
        self.refused += 1;
    }

    /// A call trapped. During a new version's probation, the second trap
    /// rolls back to the previous version; returns what to report.
    pub fn on_trap(&mut self) -> Option<String> {
        let probation = self.probation.as_mut()?;
        if probation.since.elapsed() > PROBATION {
            self.probation = None;
            return None;
        }
        probation.traps += 1;
        if probation.traps < ROLLBACK_AFTER_TRAPS {
            return None;
        }
        let probation = self.probation.take().expect("checked");
        let bad = std::mem::replace(&mut self.current, probation.previous);
        // The state goes back to the switch: what the new version changed
        // since (for tuples it acked) is not in it. Say so.
        let state = if probation.state.is_some() {
            format!(
                ", with the state it had at the switch {:.1} s ago (changes the new version made since are lost)",
                probation.since.elapsed().as_secs_f64()
            )
        } else {
            String::new()
        };
        self.restore_next = probation.state;
        self.rollbacks += 1;
        Some(format!(
            "plugin {} version {} trapped {} times right after the swap; rolled back to version {}{state} (the file is retried when it changes again)",
            bad.name, bad.hash, probation.traps, self.current.hash
        ))
    }

    /// State the next instance started must restore (after a rollback).
    pub fn take_restore(&mut self) -> Option<(String, Vec<u8>)> {
        self.restore_next.take()
    }

    /// A switch to `new` went through: the version it replaced stays on
    /// hand, with its state, until the new one has proved itself.
    pub fn switched(&mut self, new: Plugin<T>, carry: Carry) {
        let previous = std::mem::replace(&mut self.current, new);
        self.probation = Some(Probation {
            previous,
            state: carry.snapshot.map(|s| (carry.old_version, s)),
            since: Instant::now(),
            traps: 0,
        });
        self.swaps += 1;
    }
}

impl Versions<HostState> {
    /// Starts an instance of the current version; after a rollback it gets
    /// the state the previous version had at the switch.
    pub fn start(&mut self, starter: &Starter, io: TaskIo) -> Result<Instance, NotStarted> {
        let mut instance = start(starter, &self.current, io)?;
        if let Some((from, state)) = self.take_restore() {
            if let Err(reason) =
                restore(instance.lifecycle.as_ref(), &mut instance.store, &starter.limits, &from, &state)
            {
                let note = format!("plugin {}: state not restored after the rollback: {reason}", self.current.name);
                instance.io().plugin_log(LogLevel::Warn, &note);
            }
        }
        Ok(instance)
    }

    /// Replaces `old` by `new` (already prepared): the old version's state
    /// goes to the new one, then the task's tuples in flight. On failure the
    /// old instance stays and the reason is returned.
    pub fn switch(
        &mut self,
        starter: &Starter,
        mut old: Instance,
        mut new: Instance,
        detected: Instant,
    ) -> Result<Instance, (Box<Instance>, String)> {
        let carry = match carry_state(
            (&mut old.store, old.lifecycle.as_ref(), &old.plugin.hash),
            (&mut new.store, new.lifecycle.as_ref(), &new.plugin.hash),
            &starter.limits,
        ) {
            Ok(carry) => carry,
            Err(reason) => return Err((Box::new(old), reason)),
        };
        // The task's real connections move to the new instance.
        old.io().hand_over(new.io());
        if !carry.carried {
            // Tuples the old version kept to ack later: the new one never
            // heard of them, so Storm replays them.
            let kept: Vec<String> = new.io().in_flight.drain().collect();
            for id in &kept {
                let _ = new.io().output.send(&Outgoing::Fail(id));
            }
            if !kept.is_empty() {
                new.io().plugin_log(
                    LogLevel::Warn,
                    &format!("{} tuples kept by the old version failed at the swap", kept.len()),
                );
            }
        }
        tracing::info!("{}", carry.message(&old.plugin, &new.plugin, detected));
        self.switched(new.plugin.clone(), carry);
        crate::engine::retire(old);
        Ok(new)
    }
}

/// What became of a task's state at a switch.
pub(crate) struct Carry {
    /// The running version's own version string (or hash).
    pub old_version: String,
    /// The new version's.
    pub new_version: String,
    /// The running version's state, if it has one.
    pub snapshot: Option<Vec<u8>>,
    /// Whether the new version restored it.
    pub carried: bool,
}

impl Carry {
    /// The log line of a swap.
    pub fn message<T>(&self, old: &Plugin<T>, new: &Plugin<T>, detected: Instant) -> String {
        format!(
            "plugin {} swapped: version {} ({}) -> {} ({}) in {} ms, state {}",
            new.name,
            self.old_version,
            old.hash,
            self.new_version,
            new.hash,
            detected.elapsed().as_millis(),
            if self.carried {
                "carried over"
            } else if self.snapshot.is_some() {
                "dropped (the new version does not take state)"
            } else {
                "fresh (the old version has none)"
            }
        )
    }
}

/// One side of a switch: an instance's store, its lifecycle exports, and
/// its version's content hash.
pub(crate) type Side<'a, T> = (&'a mut Store<T>, Option<&'a Lifecycle>, &'a str);

/// Moves the running instance's state into the new one (both must export
/// `lifecycle` for it to be carried). `Err` when the switch must not happen:
/// the old version's snapshot or the new version's restore failed.
pub(crate) fn carry_state<T>(old: Side<'_, T>, new: Side<'_, T>, limits: &Limits) -> Result<Carry, String> {
    let (old_store, old_lifecycle, old_hash) = old;
    let (new_store, new_lifecycle, new_hash) = new;
    let old_version = version(old_lifecycle, old_store, old_hash, limits);
    let new_version = version(new_lifecycle, new_store, new_hash, limits);
    let snapshot = match old_lifecycle {
        None => None,
        Some(lifecycle) => {
            old_store.set_epoch_deadline(deadline_ticks(limits.start_deadline));
            match lifecycle.call_snapshot(&mut *old_store) {
                Ok(Ok(state)) => state,
                Ok(Err(reason)) => return Err(format!("the running version's snapshot failed: {reason}")),
                Err(e) => {
                    // The old instance is poisoned now: go on with the
                    // new one, without state.
                    tracing::warn!("the running version trapped in snapshot ({e}); the new version starts fresh");
                    None
                }
            }
        }
    };
    let carried = match (&snapshot, new_lifecycle.is_some()) {
        (Some(state), true) => {
            restore(new_lifecycle, new_store, limits, &old_version, state)
                .map_err(|reason| format!("the new version's restore failed: {reason}"))?;
            true
        }
        _ => false,
    };
    Ok(Carry { old_version, new_version, snapshot, carried })
}

/// The plugin's own version string, or its content hash without one.
fn version<T>(lifecycle: Option<&Lifecycle>, store: &mut Store<T>, hash: &str, limits: &Limits) -> String {
    let Some(lifecycle) = lifecycle else { return hash.to_string() };
    store.set_epoch_deadline(deadline_ticks(limits.start_deadline));
    lifecycle.call_version(&mut *store).unwrap_or_else(|_| hash.to_string())
}

/// Hands `state`, saved by version `from`, to an instance.
pub(crate) fn restore<T>(
    lifecycle: Option<&Lifecycle>,
    store: &mut Store<T>,
    limits: &Limits,
    from: &str,
    state: &[u8],
) -> Result<(), String> {
    let Some(lifecycle) = lifecycle else { return Err("it does not export lifecycle".into()) };
    store.set_epoch_deadline(deadline_ticks(limits.start_deadline));
    match lifecycle.call_restore(&mut *store, from, state) {
        Ok(result) => result,
        Err(e) => Err(format!("trapped: {e}")),
    }
}

/// Logs at the plugin target (Storm gets the message as an `error`).
pub(crate) fn report(io: &TaskIo, message: &str) {
    tracing::error!(target: PLUGIN_TARGET, "{message}");
    let _ = io.output.send(&Outgoing::Error(message));
    let _ = io.output.flush();
}
