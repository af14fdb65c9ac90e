//! A bolt executor: one thread running one or more tasks of a bolt. It takes
//! batches from its queue, hands each task's tuples to its plugin in one
//! call, and sends what the call emitted and acked when it returns.
//!
//! A call that traps leaves nothing behind, so its batch is retried tuple by
//! tuple on a fresh instance and only the tuple that traps alone fails (as in
//! the subprocess mode).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::host::{InFlight, Outbox, Shared, TaskCtx, WorkerHost};
use super::instance::{after_failure, start_bolt, try_start_bolt, BoltInstance, Gate, TaskSpec};
use super::queue::{Popped, TaskQueue};
use super::stats::add;
use super::swap::{self, Release};
use super::tuple::{Payload, Roots, Tuple, SYSTEM};
use crate::bindings::{Input, LogLevel, Outcome};
use crate::engine::{deadline_ticks, Plugin};
use crate::restarts::{batch_trap_message, Restarts};
use crate::sandbox::trap_cause;
use crate::task::{dead_letter_values, PoisonTracker, Versions};

/// The longest an idle executor sleeps before looking at the abort flag.
const IDLE_WAIT: Duration = Duration::from_millis(100);

struct BoltTask {
    spec: TaskSpec,
    versions: Versions<WorkerHost>,
    /// `None` only while being replaced.
    inst: Option<BoltInstance>,
    restarts: Restarts,
    next_id: u64,
    /// Failures per tuple content, for the dead-letter policy.
    poison: PoisonTracker,
}

impl BoltTask {
    fn ctx(&mut self) -> &mut TaskCtx {
        &mut self.inst.as_mut().expect("an instance").store.data_mut().io
    }

    /// The plugin's view of a tuple; the tuple goes in flight.
    fn input(&mut self, t: Tuple, names: &[(String, Vec<String>)]) -> Input {
        self.next_id += 1;
        let id = self.next_id;
        let tick = t.source == SYSTEM;
        self.ctx().in_flight.insert(id, InFlight { roots: t.roots, ack_val: 0, tick });
        let (source_component, stream_id) = if tick {
            ("__system".to_string(), "__tick".to_string())
        } else {
            let (component, streams) = &names[t.source as usize];
            (component.clone(), streams[t.stream as usize].clone())
        };
        Input {
            id: id.to_string(),
            source_component,
            source_task: t.source_task,
            stream_id,
            values: t.values.into_vec(),
        }
    }

    /// Switches to a new version of the plugin, between two batches.
    fn switch(&mut self, plugin: &Plugin<WorkerHost>, detected: Instant, out: &mut Outbox) {
        let (spec, inst) = (&self.spec, self.inst.as_mut().expect("an instance"));
        let start = |ctx| try_start_bolt(spec, plugin, ctx);
        swap::switch(&mut self.versions, inst, plugin, detected, &spec.limits, start, out);
    }
}

/// One bolt executor, ready to run on its thread.
pub struct BoltExecutor {
    /// Its tasks (consecutive ids).
    pub tasks: Vec<(TaskSpec, TaskCtx)>,
    /// The plugin they start with.
    pub plugin: Plugin<WorkerHost>,
    /// New versions of the plugin (none when the file is not watched).
    pub release: Option<Arc<Release>>,
    /// Its receive queue.
    pub queue: Arc<TaskQueue>,
    /// Where its output goes.
    pub outbox: Outbox,
    /// The worker.
    pub shared: Arc<Shared>,
    /// The tick tuple period.
    pub tick: Option<Duration>,
    /// The start barrier.
    pub gate: Arc<Gate>,
}

/// Runs the executor until its queue is closed and empty, or the run aborts.
pub fn run(exec: BoltExecutor) {
    let BoltExecutor { tasks: specs, plugin, release, queue, mut outbox, shared, tick, gate } = exec;
    let mut tasks = Vec::with_capacity(specs.len());
    for (spec, ctx) in specs {
        let name = format!("{}:{}", ctx.component, ctx.task);
        let mut restarts = Restarts::default();
        let mut versions = Versions::new(plugin.clone());
        let poison = PoisonTracker::new(spec.limits.poison.clone());
        match start_bolt(&spec, &mut versions, ctx, &mut restarts) {
            Ok(mut inst) => {
                inst.commit_start(&mut outbox);
                tasks.push(BoltTask { spec, versions, inst: Some(inst), restarts, next_id: 0, poison });
            }
            Err(reason) => {
                gate.ready(Err(format!("bolt {name} cannot start: {reason}")));
                return;
            }
        }
    }
    if !gate.ready(Ok(())) {
        return;
    }
    // What the tasks emitted in `prepare`.
    if !outbox.flush(&shared) {
        return;
    }
    let first_task = tasks[0].spec.context.task_id;
    let limits = tasks[0].spec.limits.clone();
    let tick_values = tick.map(|t| rmp_values(t.as_secs()));
    let mut next_tick = tick.map(|t| Instant::now() + t);
    let mut popped = Vec::with_capacity(limits.max_batch);
    let mut per_task: Vec<Vec<Tuple>> = (0..tasks.len()).map(|_| Vec::new()).collect();
    let mut generation = 0;
    while !shared.abort.load(Ordering::Relaxed) {
        // A new version takes over between two batches.
        if let Some(release) = release.as_ref().filter(|r| r.generation() != generation) {
            generation = release.generation();
            if let Some((plugin, detected)) = release.latest() {
                for task in &mut tasks {
                    task.switch(&plugin, detected, &mut outbox);
                }
            }
            // What the new version emitted in `prepare` goes now, not after
            // the next wait for tuples (a drain could end meanwhile).
            if !outbox.flush(&shared) {
                break;
            }
        }
        let wait = next_tick.map_or(IDLE_WAIT, |t| t.saturating_duration_since(Instant::now()).min(IDLE_WAIT));
        let max = limits.max_batch * tasks.len();
        let n = match queue.pop(max, limits.max_batch_bytes, wait, &mut popped) {
            Popped::Tuples(n) => n,
            Popped::Timeout => 0,
            Popped::Closed => break,
        };
        for t in popped.drain(..) {
            per_task[(t.dest - first_task) as usize].push(t);
        }
        let mut result = Ok(());
        for (task, tuples) in tasks.iter_mut().zip(per_task.iter_mut()) {
            while !tuples.is_empty() && result.is_ok() {
                let rest = tuples.split_off(tuples.len().min(limits.max_batch));
                let batch: Vec<Input> =
                    std::mem::replace(tuples, rest).into_iter().map(|t| task.input(t, &shared.names)).collect();
                result = execute(task, batch, &[], &mut outbox);
            }
        }
        if let (Some(at), Some(period), Some(values)) = (next_tick, tick, &tick_values) {
            if Instant::now() >= at {
                next_tick = Some(at + period);
                for task in &mut tasks {
                    // A task that gave up has no instance to tick.
                    if result.is_err() {
                        break;
                    }
                    let t = Tuple {
                        dest: task.spec.context.task_id,
                        source_task: -1,
                        source: SYSTEM,
                        stream: 0,
                        values: Payload::Owned(values.clone()),
                        roots: Roots::None,
                    };
                    let input = task.input(t, &shared.names);
                    result = execute(task, vec![input], &[], &mut outbox);
                }
            }
        }
        if let Err(reason) = result {
            shared.fail(reason);
            break;
        }
        // Downstream first, then done: the drain never sees this work as
        // finished before what it emitted is queued.
        if !outbox.flush(&shared) {
            break;
        }
        queue.done(n);
    }
}

/// `[secs]`, the values of a tick tuple.
fn rmp_values(secs: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    rmp::encode::write_array_len(&mut out, 1).expect("Vec write");
    rmp::encode::write_uint(&mut out, secs).expect("Vec write");
    out
}

fn local_id(input: &Input) -> u64 {
    input.id.parse().unwrap_or(0)
}

/// Runs one batch through the task's plugin. `waiting` are tuples of an
/// earlier batch still to be retried (in flight, but not held by the
/// instance). `Err` only when the plugin cannot go on.
fn execute(task: &mut BoltTask, batch: Vec<Input>, waiting: &[Input], out: &mut Outbox) -> Result<(), String> {
    let limits = task.spec.limits.clone();
    let inst = task.inst.as_mut().expect("an instance");
    let store = &mut inst.store;
    store.data_mut().io.begin_call();
    let deadline = limits.call_deadline(batch.len());
    store.set_epoch_deadline(deadline_ticks(deadline));
    let started = Instant::now();
    let result = inst.guest.storm_plugin_bolt_guest().call_execute(&mut *store, &batch);
    let elapsed = started.elapsed();
    let stderr = store.data_mut().io.drain_stdio(false);
    let err = match result {
        Ok(outcomes) => {
            let ctx = &mut store.data_mut().io;
            add(&ctx.stats.executed, batch.len() as u64);
            add(&ctx.stats.latency_nanos, elapsed.as_nanos() as u64);
            add(&ctx.stats.latency_count, batch.len() as u64);
            ctx.commit(out);
            apply_outcomes(ctx, &batch, outcomes, &mut task.poison, out);
            task.restarts.succeeded();
            return Ok(());
        }
        Err(e) => e,
    };
    let cause = trap_cause(&err, &stderr, deadline, &store.data().memory);
    let inst = task.inst.take().expect("an instance");
    let mut ctx = inst.store.into_data().io;
    ctx.discard();
    add(&ctx.stats.traps, 1);
    let retry = batch.len() > 1;
    // Tuples the dead instance kept to ack later are lost with it.
    let kept: Vec<u64> =
        ctx.in_flight.keys().copied().filter(|id| !batch.iter().chain(waiting).any(|i| local_id(i) == *id)).collect();
    for id in &kept {
        ctx.fail(*id, out);
    }
    let message = batch_trap_message(&ctx.plugin, &cause, &batch, retry, kept.len());
    ctx.plugin_log(LogLevel::Error, &message);
    let rolled_back = after_failure(&mut task.restarts, &limits, &mut task.versions, &mut ctx, &cause)?;
    let mut inst = start_bolt(&task.spec, &mut task.versions, ctx, &mut task.restarts)?;
    inst.commit_start(out);
    task.inst = Some(inst);
    if rolled_back {
        // The tuples go to the version that served them well before.
        return execute(task, batch, waiting, out);
    }
    if retry {
        let mut rest: VecDeque<Input> = batch.into();
        while let Some(input) = rest.pop_front() {
            execute(task, vec![input], rest.make_contiguous(), out)?;
        }
    } else {
        let first_line = cause.lines().next().unwrap_or_default().to_string();
        let ctx = &mut task.inst.as_mut().expect("an instance").store.data_mut().io;
        for input in &batch {
            if ctx.in_flight.contains_key(&local_id(input)) {
                ctx.plugin_log(LogLevel::Warn, &format!("tuple {} failed: {first_line}", input.id));
                fail_input(ctx, input, &first_line, &mut task.poison, out);
            }
        }
    }
    Ok(())
}

fn apply_outcomes(
    ctx: &mut TaskCtx,
    batch: &[Input],
    outcomes: Vec<Outcome>,
    poison: &mut PoisonTracker,
    out: &mut Outbox,
) {
    if outcomes.len() != batch.len() {
        let msg = format!(
            "the plugin returned {} outcomes for {} tuples; the missing ones fail",
            outcomes.len(),
            batch.len()
        );
        ctx.plugin_log(LogLevel::Warn, &msg);
    }
    let mut outcomes = outcomes.into_iter();
    for input in batch {
        let id = local_id(input);
        let tick = ctx.in_flight.get(&id).is_some_and(|i| i.tick);
        match outcomes.next().unwrap_or_else(|| Outcome::Fail("no outcome returned".into())) {
            Outcome::Ack => ctx.ack(id, out),
            // A tick is not part of any tree; nothing waits for it.
            Outcome::Pending if tick => ctx.ack(id, out),
            Outcome::Pending => {}
            Outcome::Fail(reason) => {
                if ctx.in_flight.contains_key(&id) {
                    ctx.plugin_log(LogLevel::Warn, &format!("tuple {} failed: {reason}", input.id));
                }
                fail_input(ctx, input, &reason, poison, out);
            }
        }
    }
}

/// Fails an input in flight, or dead-letters it when its content failed
/// too often (`storm.wasm.poison.*`, as in the subprocess mode).
fn fail_input(ctx: &mut TaskCtx, input: &Input, reason: &str, poison: &mut PoisonTracker, out: &mut Outbox) {
    let id = local_id(input);
    if !ctx.in_flight.contains_key(&id) {
        return;
    }
    let Some(policy) = poison.failed(input) else { return ctx.fail(id, out) };
    if !ctx.dead_letter(id, dead_letter_values(input, reason), &policy, out) {
        return ctx.fail(id, out);
    }
    let msg = format!(
        "tuple {} from {}/{} failed {} times with the same content; sent to stream {} and acked: {reason}",
        input.id, input.source_component, input.stream_id, policy.after, policy.stream
    );
    ctx.plugin_log(LogLevel::Warn, &msg);
}
