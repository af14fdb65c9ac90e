//! The spout loop: one plugin call per Storm command, then `sync`.
//! Storm's ShellSpout is synchronous, so there is nothing to batch.

use std::process::ExitCode;
use std::sync::mpsc::Receiver;

use storm_multilang::{LogLevel, Outgoing, SpoutCommand};
use wasmtime::Store;

use super::{fatal_plugin, fatal_protocol, recv, start_instance, trap_cause, Event, Restarts, Task};
use crate::bindings::spout::Spout;
use crate::engine::{deadline_ticks, Prepared};
use crate::logging::PLUGIN_TARGET;
use crate::state::{HostState, TaskIo};

struct Instance {
    store: Store<HostState>,
    spout: Spout,
}

/// Instantiates the plugin and runs `open` (and `activate` when the
/// topology is active), retrying with backoff.
fn start(task: &Task, mut io: TaskIo, active: bool, restarts: &mut Restarts) -> Result<Instance, String> {
    let Prepared::Spout(pre) = &*task.plugin.prepared else { unreachable!("a spout task loads the spout world") };
    loop {
        let started = start_instance(task, io, "open", |store| {
            let spout = pre.instantiate(&mut *store)?;
            let guest = spout.storm_plugin_spout_guest();
            let opened = guest.call_open(&mut *store, &task.conf, &task.context)?;
            if opened.is_ok() && active {
                guest.call_activate(&mut *store)?;
            }
            Ok((spout, opened))
        });
        match started {
            Ok((store, spout)) => return Ok(Instance { store, spout }),
            Err((back, reason)) => {
                tracing::error!(target: PLUGIN_TARGET, "plugin {} cannot start: {reason}", task.plugin.name);
                restarts.failed(&task.limits, &task.plugin.name, &reason)?;
                io = back;
            }
        }
    }
}

pub(super) fn run(task: &Task, io: TaskIo, events: Receiver<Event>) -> ExitCode {
    let output = io.output.clone();
    let mut restarts = Restarts::default();
    let mut instance = match start(task, io, false, &mut restarts) {
        Ok(i) => i,
        Err(reason) => return fatal_plugin(&output, &reason),
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
        store.data_mut().io.begin_call(false);
        store.set_epoch_deadline(deadline_ticks(task.limits.deadline));
        let guest = instance.spout.storm_plugin_spout_guest();
        let result = match &command {
            SpoutCommand::Next => guest.call_next_tuple(&mut *store),
            SpoutCommand::Ack(id) => guest.call_ack(&mut *store, id).map(Ok),
            SpoutCommand::Fail(id) => guest.call_fail(&mut *store, id).map(Ok),
            SpoutCommand::Activate => guest.call_activate(&mut *store).map(Ok),
            SpoutCommand::Deactivate => guest.call_deactivate(&mut *store).map(Ok),
        };
        let stderr = store.data_mut().io.drain_stdio(false);
        match result {
            Ok(Ok(())) => restarts.succeeded(),
            Ok(Err(reason)) => {
                restarts.succeeded();
                store.data_mut().io.plugin_log(LogLevel::Warn, &format!("next_tuple returned an error: {reason}"));
            }
            Err(e) => {
                let cause = trap_cause(&e, &stderr, task.limits.deadline, &store.data().memory);
                let io = instance.store.into_data().io;
                let message = format!("plugin {} {cause} (during {command:?}); restarting it", task.plugin.name);
                // Storm gets it as `error` (worker log and UI); its log gets no copy.
                tracing::error!(target: PLUGIN_TARGET, "{message}");
                let _ = io.output.send(&Outgoing::Error(&message));
                let _ = io.output.flush();
                let restarted = restarts
                    .failed(&task.limits, &task.plugin.name, &cause)
                    .and_then(|()| start(task, io, active, &mut restarts));
                instance = match restarted {
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
