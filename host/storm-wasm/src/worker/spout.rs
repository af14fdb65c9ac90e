//! A spout executor: one thread running one or more tasks of a spout. As in
//! Storm, `next-tuple`, `ack` and `fail` are called from the same thread;
//! `next-tuple` is not called while a task has `topology.max.spout.pending`
//! trees in flight, nor while the topology is inactive (the drain).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::acker::{Inbox, Note, Verdict};
use super::host::{spout_state, Outbox, Shared, WorkerHost};
use super::instance::{after_failure, start_spout, try_start_spout, Gate, SpoutInstance, TaskSpec};
use super::stats::add;
use super::swap::{self, Release};
use crate::bindings::LogLevel;
use crate::engine::{deadline_ticks, Plugin};
use crate::restarts::Restarts;
use crate::sandbox::trap_cause;
use crate::task::Versions;

/// `next-tuple` calls per task between two flushes: enough to amortize the
/// queue hand-over, few enough to keep latency and fairness.
const CALLS_PER_ROUND: usize = 64;
/// How long an idle spout waits for a verdict before calling `next-tuple`
/// again (Storm's sleep wait strategy waits 1 ms too).
const IDLE_WAIT: Duration = Duration::from_millis(1);

/// One call into a spout.
#[derive(Debug)]
enum Call<'a> {
    Next,
    Ack(&'a str),
    Fail(&'a str),
    Activate,
    Deactivate,
}

struct SpoutTask {
    spec: TaskSpec,
    versions: Versions<WorkerHost>,
    inst: Option<SpoutInstance>,
    restarts: Restarts,
    max_pending: Option<usize>,
}

/// One spout executor, ready to run on its thread.
pub struct SpoutExecutor {
    /// Its tasks.
    pub tasks: Vec<(TaskSpec, super::host::TaskCtx)>,
    /// The plugin they start with.
    pub plugin: Plugin<WorkerHost>,
    /// New versions of the plugin (none when the file is not watched).
    pub release: Option<Arc<Release>>,
    /// Verdicts from the acker, and wake-ups.
    pub inbox: Arc<Inbox>,
    /// Where its output goes.
    pub outbox: Outbox,
    /// The worker.
    pub shared: Arc<Shared>,
    /// `topology.max.spout.pending`.
    pub max_pending: Option<usize>,
    /// The start barrier.
    pub gate: Arc<Gate>,
}

/// Runs the executor until the worker stops it.
pub fn run(exec: SpoutExecutor) {
    let SpoutExecutor { tasks: specs, plugin, release, inbox, mut outbox, shared, max_pending, gate } = exec;
    let mut tasks = Vec::with_capacity(specs.len());
    for (spec, ctx) in specs {
        let name = format!("{}:{}", ctx.component, ctx.task);
        let mut restarts = Restarts::default();
        let mut versions = Versions::new(plugin.clone());
        match start_spout(&spec, &mut versions, ctx, false, &mut restarts) {
            Ok(mut inst) => {
                inst.commit_start(&mut outbox);
                tasks.push(SpoutTask { spec, versions, inst: Some(inst), restarts, max_pending });
            }
            Err(reason) => {
                gate.ready(Err(format!("spout {name} cannot start: {reason}")));
                return;
            }
        }
    }
    if !gate.ready(Ok(())) {
        return;
    }
    let first_task = tasks[0].spec.context.task_id;
    let mut active = false;
    let mut notes: Vec<Note> = Vec::new();
    let mut generation = 0;
    let result = loop {
        if shared.abort.load(Ordering::Relaxed) {
            break Ok(());
        }
        let state = shared.spouts.load(Ordering::Relaxed);
        if state == spout_state::STOP {
            break Ok(());
        }
        // A new version takes over between two rounds of calls.
        if let Some(release) = release.as_ref().filter(|r| r.generation() != generation) {
            generation = release.generation();
            if let Some((plugin, detected)) = release.latest() {
                for task in &mut tasks {
                    task.switch(&plugin, detected, active, &mut outbox);
                }
            }
        }
        let mut result = Ok(false);
        if (state == spout_state::ACTIVE) != active {
            active = !active;
            let call = if active { Call::Activate } else { Call::Deactivate };
            for task in &mut tasks {
                result = result.and_then(|_| task.call(&call, active, &mut outbox));
            }
        }
        notes.clear();
        inbox.take(&mut notes);
        notes.append(&mut outbox.immediate);
        for note in &notes {
            let task = &mut tasks[(note.task - first_task) as usize];
            result = result.and_then(|_| task.verdict(note, active, &mut outbox));
        }
        let mut emitted = false;
        if active {
            for task in &mut tasks {
                for _ in 0..CALLS_PER_ROUND {
                    if task.max_pending.is_some_and(|max| task.pending() >= max) {
                        break;
                    }
                    match task.call(&Call::Next, active, &mut outbox) {
                        Ok(true) => emitted = true,
                        Ok(false) => break,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
            }
        }
        if let Err(reason) = result {
            break Err(reason);
        }
        if !outbox.flush(&shared) {
            break Ok(());
        }
        if !emitted && notes.is_empty() && outbox.immediate.is_empty() {
            inbox.wait(if active { IDLE_WAIT } else { Duration::from_millis(50) });
        }
    };
    if let Err(reason) = result {
        shared.fail(reason);
    }
}

impl SpoutTask {
    /// Switches to a new version of the plugin (activated when `active`):
    /// the pending trees stay, and their verdicts go to the new version.
    fn switch(&mut self, plugin: &Plugin<WorkerHost>, detected: Instant, active: bool, out: &mut Outbox) {
        let (spec, inst) = (&self.spec, self.inst.as_mut().expect("an instance"));
        let start = |ctx| try_start_spout(spec, plugin, ctx, active);
        swap::switch(&mut self.versions, inst, plugin, detected, &spec.limits, start, out);
    }

    fn pending(&mut self) -> usize {
        self.inst.as_mut().expect("an instance").store.data().io.pending.len()
    }

    /// A tree's verdict: the plugin's `ack` or `fail` with its message id.
    fn verdict(&mut self, note: &Note, active: bool, out: &mut Outbox) -> Result<bool, String> {
        let ctx = &mut self.inst.as_mut().expect("an instance").store.data_mut().io;
        // Unknown: already decided (a late ack after a timeout).
        let Some((message_id, emitted_at)) = ctx.pending.remove(&note.root) else { return Ok(false) };
        let stats = ctx.stats.clone();
        stats.pending.fetch_sub(1, Ordering::Relaxed);
        ctx.tap_verdict(&message_id, note.verdict);
        match note.verdict {
            Verdict::Acked => {
                add(&stats.acked, 1);
                add(&stats.latency_nanos, emitted_at.elapsed().as_nanos() as u64);
                add(&stats.latency_count, 1);
                self.call(&Call::Ack(&message_id), active, out)
            }
            Verdict::Failed | Verdict::TimedOut => {
                add(&stats.failed, 1);
                if note.verdict == Verdict::TimedOut {
                    add(&stats.timed_out, 1);
                }
                self.call(&Call::Fail(&message_id), active, out)
            }
        }
    }

    /// One call; returns whether it emitted. A trap replaces the instance
    /// (the task's pending trees stay: their verdicts go to the new one).
    fn call(&mut self, call: &Call<'_>, active: bool, out: &mut Outbox) -> Result<bool, String> {
        let limits = self.spec.limits.clone();
        let inst = self.inst.as_mut().expect("an instance");
        let store = &mut inst.store;
        store.data_mut().io.begin_call();
        store.set_epoch_deadline(deadline_ticks(limits.deadline));
        let guest = inst.guest.storm_plugin_spout_guest();
        let result = match call {
            Call::Next => guest.call_next_tuple(&mut *store),
            Call::Ack(id) => guest.call_ack(&mut *store, id).map(Ok),
            Call::Fail(id) => guest.call_fail(&mut *store, id).map(Ok),
            Call::Activate => guest.call_activate(&mut *store).map(Ok),
            Call::Deactivate => guest.call_deactivate(&mut *store).map(Ok),
        };
        let stderr = store.data_mut().io.drain_stdio(false);
        let err = match result {
            Ok(returned) => {
                let ctx = &mut store.data_mut().io;
                if let Err(reason) = returned {
                    ctx.plugin_log(LogLevel::Warn, &format!("next_tuple returned an error: {reason}"));
                }
                let emitted = ctx.emitted();
                ctx.commit(out);
                self.restarts.succeeded();
                return Ok(emitted);
            }
            Err(e) => e,
        };
        let cause = trap_cause(&err, &stderr, limits.deadline, &store.data().memory);
        let mut ctx = self.inst.take().expect("an instance").store.into_data().io;
        ctx.discard();
        add(&ctx.stats.traps, 1);
        ctx.plugin_log(LogLevel::Error, &format!("plugin {} {cause} (during {call:?}); restarting it", ctx.plugin));
        let rolled_back = after_failure(&mut self.restarts, &limits, &mut self.versions, &mut ctx, &cause)?;
        let mut inst = start_spout(&self.spec, &mut self.versions, ctx, active, &mut self.restarts)?;
        inst.commit_start(out);
        self.inst = Some(inst);
        if rolled_back && matches!(call, Call::Ack(_) | Call::Fail(_)) {
            // The version rolled back to emitted the message (or has it in
            // its restored state): it gets the verdict the new one dropped.
            return self.call(call, active, out);
        }
        Ok(false)
    }
}
