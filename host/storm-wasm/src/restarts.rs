//! Consecutive failed calls (traps, failed starts) and the backoff between
//! restarts, for the Storm task and the native worker alike: a plugin
//! broken for every input stops with a clear message instead of spinning,
//! and a new version that fails right after a swap is rolled back first.

use std::time::Duration;

use crate::bindings::Input;
use crate::limits::Limits;
use crate::task::Versions;

/// Failures in a row of one task's plugin.
#[derive(Default)]
pub struct Restarts {
    consecutive: u32,
}

impl Restarts {
    /// A call went through.
    pub fn succeeded(&mut self) {
        self.consecutive = 0;
    }

    /// A call trapped or a start failed. A new version on probation is rolled
    /// back (`rolled_back` gets the message to report; `Ok(true)`: what
    /// failed deserves another try on the previous version). Otherwise waits
    /// before the next attempt (10 ms doubling to 1.28 s), or gives up with
    /// `Err` after `storm.wasm.max.consecutive.traps` in a row.
    pub fn after_failure<T>(
        &mut self,
        limits: &Limits,
        versions: &mut Versions<T>,
        plugin: &str,
        cause: &str,
        rolled_back: impl FnOnce(&str),
    ) -> Result<bool, String> {
        if let Some(message) = versions.on_trap() {
            rolled_back(&message);
            self.consecutive = 0;
            return Ok(true);
        }
        self.consecutive += 1;
        if self.consecutive > limits.max_consecutive_traps {
            return Err(format!(
                "plugin {plugin} failed {} times in a row (storm.wasm.max.consecutive.traps = {}); giving up. Last: {cause}",
                self.consecutive, limits.max_consecutive_traps
            ));
        }
        std::thread::sleep(Duration::from_millis(10u64 << (self.consecutive - 1).min(7)));
        Ok(false)
    }
}

/// What the log and Storm are told when a bolt call on `batch` trapped:
/// the cause, what happens to the batch (`retry`: tuple by tuple) and to the
/// `kept` tuples the dead instance held.
pub fn batch_trap_message(plugin: &str, cause: &str, batch: &[Input], retry: bool, kept: usize) -> String {
    let what = if retry {
        format!("retrying its batch of {} tuple by tuple", batch.len())
    } else if batch.len() == 1 {
        format!("failing tuple {}", batch[0].id)
    } else {
        format!("failing {} tuples", batch.len())
    };
    let kept_note = if kept == 0 { String::new() } else { format!(", and {kept} tuples it kept") };
    format!("plugin {plugin} {cause}; {what}{kept_note}; restarting it")
}
