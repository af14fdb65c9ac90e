//! The bolt loop: batches of tuples into the plugin, outcomes back to Storm.
//!
//! A call's emits, acks and fails are held until it returns. When it traps,
//! nothing of it reached Storm, so the batch is retried tuple by tuple on a
//! fresh instance: only the tuple that traps alone fails.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, TryRecvError};

use rustc_hash::{FxHashMap, FxHasher};
use storm_multilang::{BoltTuple, Emit, LogLevel, Outgoing};

use super::instance::Instance;
use super::{fatal_plugin, fatal_protocol, recv, report_rollback, trap_cause, Event, Task};
use crate::bindings::{Input, Outcome};
use crate::engine::deadline_ticks;
use crate::limits::Poison;
use crate::logging::PLUGIN_TARGET;
use crate::restarts::batch_trap_message;
use crate::state::TaskIo;

pub(super) fn run(task: &mut Task, io: TaskIo, events: Receiver<Event>) -> ExitCode {
    let output = io.output.clone();
    let mut instance = match task.start(io) {
        Ok(i) => i,
        Err(reason) => return fatal_plugin(&output, &reason),
    };
    let limits = task.starter.limits.clone();
    let mut poison = PoisonTracker::new(limits.poison.clone());
    let mut queue: VecDeque<BoltTuple> = VecDeque::new();
    // A control event is acted on only once the tuples before it are done.
    let mut control: Option<Event> = None;
    let (mut tuples_done, mut batches) = (0u64, 0u64);
    loop {
        if queue.is_empty() {
            match control.take().unwrap_or_else(|| recv(&events)) {
                Event::Tuples(tuples) => queue.extend(tuples),
                Event::Closed => {
                    tracing::info!(
                        tuples = tuples_done,
                        batches,
                        mean_batch = format!("{:.1}", tuples_done as f64 / batches.max(1) as f64),
                        memory_peak_mib = instance.store.data().memory.peak >> 20,
                        dead_lettered = poison.dead_lettered,
                        swaps = task.versions.swaps,
                        rollbacks = task.versions.rollbacks,
                        refused = task.versions.refused,
                        "Storm closed stdin; exiting"
                    );
                    return ExitCode::SUCCESS;
                }
                Event::Fatal(reason) => return fatal_protocol(&output, &reason),
                Event::Spout(_) => unreachable!("the reader sends spout commands only to spouts"),
            }
        }
        while control.is_none() {
            match events.try_recv() {
                Ok(Event::Tuples(tuples)) => queue.extend(tuples),
                Ok(other) => control = Some(other),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let mut batch = Vec::with_capacity(limits.max_batch.min(queue.len()));
        let mut bytes = 0;
        while let Some(t) = queue.pop_front() {
            bytes += t.values.len();
            batch.push(Input {
                id: t.id,
                source_component: t.comp.unwrap_or_default(),
                source_task: t.task,
                stream_id: t.stream,
                values: t.values,
            });
            if batch.len() >= limits.max_batch || bytes >= limits.max_batch_bytes {
                break;
            }
        }
        if batch.is_empty() {
            continue;
        }
        tuples_done += batch.len() as u64;
        batches += 1;
        // A new version takes over between two batches.
        instance = task.apply_swaps(instance);
        instance = match process(task, instance, batch, &[], &mut poison) {
            Ok(i) => i,
            Err(reason) => return fatal_plugin(&output, &reason),
        };
        if let Err(e) = output.flush() {
            return fatal_protocol(&output, &format!("cannot write to Storm: {e}"));
        }
    }
}

/// Runs one batch. On a trap the instance is replaced and the batch retried
/// tuple by tuple (a batch of one fails); `Err` only when the plugin cannot
/// be restarted or traps on every call. `waiting` are tuples of an earlier
/// batch still to be retried: in flight, but not held by this instance.
fn process(
    task: &mut Task,
    mut inst: Instance,
    batch: Vec<Input>,
    waiting: &[Input],
    poison: &mut PoisonTracker,
) -> Result<Instance, String> {
    let io = inst.io();
    for input in &batch {
        io.in_flight.insert(input.id.clone());
    }
    io.begin_call(true);
    let deadline = task.starter.limits.call_deadline(batch.len());
    inst.store.set_epoch_deadline(deadline_ticks(deadline));
    let guest = inst.bolt().storm_plugin_bolt_guest().clone();
    let result = guest.call_execute(&mut inst.store, &batch);
    let stderr = inst.io().drain_stdio(false);
    let err = match result {
        Ok(outcomes) => {
            let io = inst.io();
            io.commit_call();
            apply_outcomes(io, &batch, outcomes, poison);
            task.restarts.succeeded();
            return Ok(inst);
        }
        Err(e) => e,
    };
    let cause = trap_cause(&err, &stderr, deadline, &inst.store.data().memory);
    let name = inst.plugin.name.clone();
    let io = inst.io();
    let io_committed = io.committed;
    let retry = batch.len() > 1 && !io_committed;
    io.discard_call();
    let mut io = inst.store.into_data().io;
    // Tuples the dead instance kept to ack later are lost with it.
    let kept: Vec<String> =
        io.in_flight.iter().filter(|id| !batch.iter().chain(waiting).any(|i| &i.id == *id)).cloned().collect();
    for id in &kept {
        io.in_flight.remove(id);
        let _ = io.output.send(&Outgoing::Fail(id));
    }
    let message = batch_trap_message(&name, &cause, &batch, retry, kept.len());
    // Storm gets it as `error` (worker log and UI); its log gets no copy.
    tracing::error!(target: PLUGIN_TARGET, "{message}");
    let _ = io.output.send(&Outgoing::Error(&message));
    let _ = io.output.flush();
    let metrics = task.metrics;
    let rolled_back = task
        .restarts
        .after_failure(&task.starter.limits, &mut task.versions, &name, &cause, |m| report_rollback(&io, metrics, m))?;
    let mut inst = task.start(io)?;
    if rolled_back && !io_committed {
        // The tuples go to the version that served them well before.
        return process(task, inst, batch, waiting, poison);
    }
    if retry {
        let mut rest: VecDeque<Input> = batch.into();
        while let Some(input) = rest.pop_front() {
            inst = process(task, inst, vec![input], rest.make_contiguous(), poison)?;
        }
    } else {
        let first_line = cause.lines().next().unwrap_or_default().to_string();
        for input in &batch {
            fail_tuple(inst.io(), input, &first_line, poison);
        }
    }
    Ok(inst)
}

fn apply_outcomes(io: &mut TaskIo, inputs: &[Input], outcomes: Vec<Outcome>, poison: &mut PoisonTracker) {
    if outcomes.len() != inputs.len() {
        let msg = format!(
            "the plugin returned {} outcomes for {} tuples; the missing ones fail",
            outcomes.len(),
            inputs.len()
        );
        io.plugin_log(LogLevel::Warn, &msg);
    }
    let mut outcomes = outcomes.into_iter();
    for input in inputs {
        let tick = input.source_task == -1 && input.stream_id == "__tick";
        match outcomes.next().unwrap_or_else(|| Outcome::Fail("no outcome returned".into())) {
            Outcome::Ack => ack_tuple(io, &input.id),
            // Storm keeps every tick in its pending map until acked.
            Outcome::Pending if tick => ack_tuple(io, &input.id),
            Outcome::Pending => {}
            Outcome::Fail(reason) => {
                if io.in_flight.contains(&input.id) {
                    io.plugin_log(LogLevel::Warn, &format!("tuple {} failed: {reason}", input.id));
                }
                fail_tuple(io, input, &reason, poison);
            }
        }
    }
}

fn ack_tuple(io: &mut TaskIo, id: &str) {
    // Not in flight: already acked or failed through bolt-output.
    if io.in_flight.remove(id) {
        if let Err(e) = io.output.send(&Outgoing::Ack(id)) {
            tracing::error!("cannot ack tuple {id}: {e}");
        }
    }
}

/// Fails a tuple, or dead-letters it when its content failed too often.
fn fail_tuple(io: &mut TaskIo, input: &Input, reason: &str, poison: &mut PoisonTracker) {
    if !io.in_flight.remove(&input.id) {
        return;
    }
    let Some(policy) = poison.failed(input) else {
        if let Err(e) = io.output.send(&Outgoing::Fail(&input.id)) {
            tracing::error!("cannot fail tuple {}: {e}", input.id);
        }
        return;
    };
    let values = dead_letter_values(input, reason);
    let anchors = [input.id.clone()];
    let emit = Emit { stream: &policy.stream, anchors: &anchors, values: &values, ..Emit::default() };
    let _ = io.output.send(&Outgoing::Emit(emit));
    let _ = io.output.send(&Outgoing::Ack(&input.id));
    if let Some(metric) = &policy.metric {
        let _ = io.output.send(&Outgoing::Metrics { name: metric, params: &[0x01] });
    }
    let msg = format!(
        "tuple {} from {}/{} failed {} times with the same content; sent to stream {} and acked: {reason}",
        input.id, input.source_component, input.stream_id, policy.after, policy.stream
    );
    io.plugin_log(LogLevel::Warn, &msg);
}

/// `[source, stream, values, error]`, with the original values as a list.
pub(crate) fn dead_letter_values(input: &Input, reason: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.values.len() + reason.len() + 64);
    rmp::encode::write_array_len(&mut out, 4).expect("Vec write");
    rmp::encode::write_str(&mut out, &input.source_component).expect("Vec write");
    rmp::encode::write_str(&mut out, &input.stream_id).expect("Vec write");
    out.extend_from_slice(&input.values);
    rmp::encode::write_str(&mut out, reason).expect("Vec write");
    out
}

/// Counts failures per tuple content (source, stream, values).
pub(crate) struct PoisonTracker {
    policy: Option<Poison>,
    failures: FxHashMap<u64, u32>,
    dead_lettered: u64,
}

/// Contents remembered at most; past it the counts start over (a bound on
/// memory, at the price of a few more replays).
const MAX_TRACKED: usize = 100_000;

impl PoisonTracker {
    pub(crate) fn new(policy: Option<Poison>) -> Self {
        PoisonTracker { policy, failures: FxHashMap::default(), dead_lettered: 0 }
    }

    /// Counts a failure; the policy when this one is to be dead-lettered.
    pub(crate) fn failed(&mut self, input: &Input) -> Option<Poison> {
        let policy = self.policy.as_ref()?;
        let mut h = FxHasher::default();
        (&input.source_component, &input.stream_id, &input.values).hash(&mut h);
        let key = h.finish();
        if self.failures.len() >= MAX_TRACKED {
            self.failures.clear();
        }
        let count = self.failures.entry(key).or_insert(0);
        *count += 1;
        if *count < policy.after {
            return None;
        }
        self.failures.remove(&key);
        self.dead_lettered += 1;
        Some(policy.clone())
    }
}
