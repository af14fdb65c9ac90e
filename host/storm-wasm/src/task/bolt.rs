//! The bolt loop: batches of tuples into the plugin, outcomes back to Storm.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, TryRecvError};

use storm_multilang::{BoltTuple, LogLevel, Outgoing};
use wasmtime::Store;

use super::{fatal_plugin, fatal_protocol, recv, trap_cause, Event, Task};
use crate::bindings::bolt::Bolt;
use crate::bindings::{Input, Outcome};
use crate::engine::{deadline_ticks, Prepared};
use crate::state::{HostState, TaskIo};

struct Instance {
    store: Store<HostState>,
    bolt: Bolt,
}

/// Instantiates the plugin and runs `prepare`. On failure the task state is
/// handed back with the reason.
fn start(task: &Task, io: TaskIo) -> Result<Instance, (TaskIo, String)> {
    let Prepared::Bolt(pre) = &*task.plugin.prepared else { unreachable!("a bolt task loads the bolt world") };
    let mut store = Store::new(&task.engine, task.new_state(io));
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(deadline_ticks(task.limits.start_deadline));
    let result = pre.instantiate(&mut store).and_then(|bolt| {
        bolt.storm_plugin_bolt_guest().call_prepare(&mut store, &task.conf, &task.context).map(|r| (bolt, r))
    });
    let stderr = store.data_mut().io.drain_stdio(true);
    match result {
        Ok((bolt, Ok(()))) => Ok(Instance { store, bolt }),
        Ok((_, Err(reason))) => Err((store.into_data().io, format!("prepare returned an error: {reason}"))),
        Err(e) => {
            Err((store.into_data().io, format!("prepare {}", trap_cause(&e, &stderr, task.limits.start_deadline))))
        }
    }
}

pub(super) fn run(task: &Task, io: TaskIo, events: Receiver<Event>) -> ExitCode {
    let output = io.output.clone();
    let mut instance = match start(task, io) {
        Ok(i) => i,
        Err((_, reason)) => {
            return fatal_plugin(&output, &format!("plugin {} cannot start: {reason}", task.plugin.name))
        }
    };
    let mut queue: VecDeque<BoltTuple> = VecDeque::new();
    let mut batch: Vec<BoltTuple> = Vec::with_capacity(task.limits.max_batch);
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
        let mut bytes = 0;
        while let Some(t) = queue.pop_front() {
            bytes += t.values.len();
            batch.push(t);
            if batch.len() >= task.limits.max_batch || bytes >= task.limits.max_batch_bytes {
                break;
            }
        }
        if batch.is_empty() {
            continue;
        }
        tuples_done += batch.len() as u64;
        batches += 1;
        instance = match execute(task, instance, &mut batch) {
            Ok(i) => i,
            Err(reason) => return fatal_plugin(&output, &reason),
        };
        if let Err(e) = output.flush() {
            return fatal_protocol(&output, &format!("cannot write to Storm: {e}"));
        }
    }
}

/// Runs one batch. A trap fails every tuple the instance held and replaces
/// the instance; only a plugin that cannot be restarted is an error.
fn execute(task: &Task, mut instance: Instance, batch: &mut Vec<BoltTuple>) -> Result<Instance, String> {
    let inputs: Vec<Input> = batch
        .drain(..)
        .map(|t| Input {
            id: t.id,
            source_component: t.comp.unwrap_or_default(),
            source_task: t.task,
            stream_id: t.stream,
            values: t.values,
        })
        .collect();
    let store = &mut instance.store;
    for input in &inputs {
        store.data_mut().io.in_flight.insert(input.id.clone());
    }
    store.set_epoch_deadline(deadline_ticks(task.limits.deadline));
    let result = instance.bolt.storm_plugin_bolt_guest().call_execute(&mut *store, &inputs);
    let io = &mut store.data_mut().io;
    let stderr = io.drain_stdio(false);
    match result {
        Ok(outcomes) => {
            apply_outcomes(io, &inputs, outcomes);
            Ok(instance)
        }
        Err(e) => {
            let cause = trap_cause(&e, &stderr, task.limits.deadline);
            restart_after_trap(task, instance, &cause, inputs.len())
        }
    }
}

fn apply_outcomes(io: &mut TaskIo, inputs: &[Input], outcomes: Vec<Outcome>) {
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
        let outcome = outcomes.next().unwrap_or_else(|| Outcome::Fail("no outcome returned".into()));
        let ack = match outcome {
            Outcome::Ack => true,
            Outcome::Fail(reason) => {
                io.plugin_log(LogLevel::Warn, &format!("tuple {} failed: {reason}", input.id));
                false
            }
            // Storm keeps every tick in its pending map until acked.
            Outcome::Pending if tick => true,
            Outcome::Pending => continue,
        };
        if !io.in_flight.remove(&input.id) {
            // Already acked or failed through bolt-output during the call.
            continue;
        }
        let msg = if ack { Outgoing::Ack(&input.id) } else { Outgoing::Fail(&input.id) };
        if let Err(e) = io.output.send(&msg) {
            tracing::error!("cannot send the outcome of tuple {}: {e}", input.id);
        }
    }
}

fn restart_after_trap(task: &Task, instance: Instance, cause: &str, batch_len: usize) -> Result<Instance, String> {
    let mut io = instance.store.into_data().io;
    // The instance is gone, and with it whatever it meant to ack later.
    let held: Vec<String> = io.in_flight.drain().collect();
    for id in &held {
        let _ = io.output.send(&Outgoing::Fail(id));
    }
    let message = format!(
        "plugin {} {cause}; failed {} tuples ({batch_len} in the batch), restarting it",
        task.plugin.name,
        held.len()
    );
    tracing::error!("{message}");
    let _ = io.output.send(&Outgoing::Error(&message));
    start(task, io).map_err(|(_, reason)| format!("plugin {} cannot restart after a trap: {reason}", task.plugin.name))
}
