//! Hot swap in a `storm-wasm bolt|spout` process: each new version of the
//! plugin file (see [`crate::watch`]) is compiled (through the shared compile
//! cache), type-checked against the world, instantiated and prepared on the
//! watcher's thread while the old version keeps serving; the task thread
//! only switches, between two batches.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::Instant;

use super::instance::{start, Instance, Starter};
use crate::cli::CacheArgs;
use crate::engine::{self, World};
use crate::state::TaskIo;

/// What the watcher hands the task thread.
pub(crate) enum SwapEvent {
    /// A new version, prepared and ready to switch to.
    Ready { instance: Box<Instance>, detected: Instant },
    /// A new file that cannot serve (does not compile, link or prepare).
    Refused { hash: String, reason: String },
}

/// Watches `path` and prepares each new version with `new_io` state.
pub(crate) fn watch(
    path: PathBuf,
    world: World,
    cache: CacheArgs,
    starter: Starter,
    new_io: impl Fn() -> TaskIo + Send + 'static,
    current_digest: String,
) -> Receiver<SwapEvent> {
    let (tx, rx) = mpsc::channel();
    let watched = path.clone();
    crate::watch::watch(watched, current_digest, move |change| {
        let event = match prepare(&path, change.wasm, world, &cache, &starter, new_io()) {
            Ok(instance) => SwapEvent::Ready { instance: Box::new(instance), detected: change.detected },
            Err(reason) => SwapEvent::Refused { hash: change.digest[..16].to_string(), reason },
        };
        tx.send(event).is_ok()
    });
    rx
}

fn prepare(
    path: &Path,
    wasm: Vec<u8>,
    world: World,
    cache: &CacheArgs,
    starter: &Starter,
    io: TaskIo,
) -> Result<Instance, String> {
    let plugin = engine::load_wasm(&starter.engine, path, wasm, world, cache).map_err(|e| format!("{e:#}"))?;
    start(starter, &plugin, io).map_err(|(_, reason)| reason)
}
