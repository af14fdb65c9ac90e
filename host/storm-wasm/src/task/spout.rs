//! The spout loop: one plugin call per Storm command, then `sync`.
//! Storm's ShellSpout is synchronous, so there is nothing to batch.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;

use storm_multilang::{LogLevel, Outgoing, SpoutCommand};

use super::instance::report;
use super::{fatal_plugin, fatal_protocol, recv, report_rollback, trap_cause, Event, Task};
use crate::engine::deadline_ticks;
use crate::state::TaskIo;

pub(super) fn run(task: &mut Task, io: TaskIo, events: Receiver<Event>) -> ExitCode {
    let output = io.output.clone();
    let mut instance = match task.start(io) {
        Ok(i) => i,
        Err(reason) => return fatal_plugin(&output, &reason),
    };
    let limits = task.starter.limits.clone();
    loop {
        let command = match recv(&events) {
            Event::Spout(c) => c,
            Event::Closed => {
                tracing::info!(
                    swaps = task.versions.swaps,
                    rollbacks = task.versions.rollbacks,
                    refused = task.versions.refused,
                    "Storm closed stdin; exiting"
                );
                return ExitCode::SUCCESS;
            }
            Event::Fatal(reason) => return fatal_protocol(&output, &reason),
            Event::Tuples(_) => unreachable!("the reader sends tuples only to bolts"),
        };
        match &command {
            SpoutCommand::Activate => task.starter.active.store(true, Ordering::Relaxed),
            SpoutCommand::Deactivate => task.starter.active.store(false, Ordering::Relaxed),
            _ => {}
        }
        // A new version takes over between two commands.
        instance = task.apply_swaps(instance);
        loop {
            let guest = instance.guest_spout();
            let store = &mut instance.store;
            store.data_mut().io.begin_call(false);
            store.set_epoch_deadline(deadline_ticks(limits.deadline));
            let result = match &command {
                SpoutCommand::Next => guest.call_next_tuple(&mut *store),
                SpoutCommand::Ack(id) => guest.call_ack(&mut *store, id).map(Ok),
                SpoutCommand::Fail(id) => guest.call_fail(&mut *store, id).map(Ok),
                SpoutCommand::Activate => guest.call_activate(&mut *store).map(Ok),
                SpoutCommand::Deactivate => guest.call_deactivate(&mut *store).map(Ok),
            };
            let stderr = store.data_mut().io.drain_stdio(false);
            let e = match result {
                Ok(Ok(())) => {
                    task.restarts.succeeded();
                    break;
                }
                Ok(Err(reason)) => {
                    task.restarts.succeeded();
                    store.data_mut().io.plugin_log(LogLevel::Warn, &format!("next_tuple returned an error: {reason}"));
                    break;
                }
                Err(e) => e,
            };
            let cause = trap_cause(&e, &stderr, limits.deadline, &store.data().memory);
            let name = instance.plugin.name.clone();
            let io = instance.store.into_data().io;
            report(&io, &format!("plugin {name} {cause} (during {command:?}); restarting it"));
            let metrics = task.metrics;
            let mut rolled_back = false;
            let restarted = task
                .restarts
                .after_failure(&limits, &mut task.versions, &name, &cause, |m| report_rollback(&io, metrics, m))
                .and_then(|back| {
                    rolled_back = back;
                    task.start(io)
                });
            instance = match restarted {
                Ok(i) => i,
                Err(reason) => return fatal_plugin(&output, &reason),
            };
            // The version rolled back to emitted the message (or has it in
            // its restored state): it gets the verdict the new one dropped.
            if !(rolled_back && matches!(command, SpoutCommand::Ack(_) | SpoutCommand::Fail(_))) {
                break;
            }
        }
        // Every command is answered with sync, and a spout never sends ack
        // or fail: ShellSpout dies on either.
        if let Err(e) = output.send_now(&Outgoing::Sync) {
            return fatal_protocol(&output, &format!("cannot write to Storm: {e}"));
        }
    }
}
