//! The spout loop: one plugin call per Storm command, then `sync`.
//! Storm's ShellSpout is synchronous, so there is nothing to batch.

use std::process::ExitCode;
use std::sync::mpsc::Receiver;

use storm_multilang::{LogLevel, Outgoing, SpoutCommand};
use wasmtime::Store;

use super::{fatal_plugin, fatal_protocol, recv, trap_cause, Event, Task};
use crate::bindings::spout::Spout;
use crate::engine::{deadline_ticks, Prepared};
use crate::state::{HostState, TaskIo};

struct Instance {
    store: Store<HostState>,
    spout: Spout,
}

fn start(task: &Task, io: TaskIo) -> Result<Instance, (TaskIo, String)> {
    let Prepared::Spout(pre) = &*task.plugin.prepared else { unreachable!("a spout task loads the spout world") };
    let mut store = Store::new(&task.engine, task.new_state(io));
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(deadline_ticks(task.limits.start_deadline));
    let result = pre.instantiate(&mut store).and_then(|spout| {
        spout.storm_plugin_spout_guest().call_open(&mut store, &task.conf, &task.context).map(|r| (spout, r))
    });
    let stderr = store.data_mut().io.drain_stdio(true);
    match result {
        Ok((spout, Ok(()))) => Ok(Instance { store, spout }),
        Ok((_, Err(reason))) => Err((store.into_data().io, format!("open returned an error: {reason}"))),
        Err(e) => Err((store.into_data().io, format!("open {}", trap_cause(&e, &stderr, task.limits.start_deadline)))),
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
    let mut active = false;
    loop {
        let command = match recv(&events) {
            Event::Spout(c) => c,
            Event::Closed => return ExitCode::SUCCESS,
            Event::Fatal(reason) => return fatal_protocol(&output, &reason),
            Event::Tuples(_) => unreachable!("the reader sends tuples only to bolts"),
        };
        match &command {
            SpoutCommand::Activate => active = true,
            SpoutCommand::Deactivate => active = false,
            _ => {}
        }
        let store = &mut instance.store;
        store.set_epoch_deadline(deadline_ticks(task.limits.deadline));
        let guest = instance.spout.storm_plugin_spout_guest();
        let result = match &command {
            SpoutCommand::Next => guest.call_next_tuple(&mut *store),
            SpoutCommand::Ack(id) => guest.call_ack(&mut *store, id).map(Ok),
            SpoutCommand::Fail(id) => guest.call_fail(&mut *store, id).map(Ok),
            SpoutCommand::Activate => guest.call_activate(&mut *store).map(Ok),
            SpoutCommand::Deactivate => guest.call_deactivate(&mut *store).map(Ok),
        };
        let io = &mut store.data_mut().io;
        let stderr = io.drain_stdio(false);
        match result {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => io.plugin_log(LogLevel::Warn, &format!("next_tuple returned an error: {reason}")),
            Err(e) => {
                let cause = trap_cause(&e, &stderr, task.limits.deadline);
                instance = match restart_after_trap(task, instance, &cause, &command, active) {
                    Ok(i) => i,
                    Err(reason) => return fatal_plugin(&output, &reason),
                };
            }
        }
        // Every command is answered with sync, and a spout never sends ack
        // or fail: ShellSpout dies on either.
        if let Err(e) = output.send_now(&Outgoing::Sync) {
            return fatal_protocol(&output, &format!("cannot write to Storm: {e}"));
        }
    }
}

fn restart_after_trap(
    task: &Task,
    instance: Instance,
    cause: &str,
    command: &SpoutCommand,
    active: bool,
) -> Result<Instance, String> {
    let io = instance.store.into_data().io;
    let message = format!("plugin {} {cause} (during {command:?}); restarting it", task.plugin.name);
    tracing::error!("{message}");
    let _ = io.output.send(&Outgoing::Error(&message));
    let mut instance = start(task, io)
        .map_err(|(_, reason)| format!("plugin {} cannot restart after a trap: {reason}", task.plugin.name))?;
    if active {
        // The new instance has not been told the topology is active.
        instance.store.set_epoch_deadline(deadline_ticks(task.limits.deadline));
        let spout = instance.spout.storm_plugin_spout_guest();
        if let Err(e) = spout.call_activate(&mut instance.store) {
            return Err(format!("plugin {} traps in activate after a restart: {e}", task.plugin.name));
        }
    }
    Ok(instance)
}
