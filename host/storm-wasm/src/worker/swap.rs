//! Hot swap in the native worker: one watcher per plugin file of the
//! topology (see [`crate::watch`]) compiles and links each new version once,
//! on its own thread, and publishes it to the executors of the components
//! that run the file. An executor looks at the generation of the latest
//! version between two batches (one atomic load), and switches its tasks:
//! instantiate and prepare (or open) the new version, hand it the old
//! instance's state, then the task's inputs in flight and pending trees.
//! A task whose switch fails keeps its version and says why.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::Engine;

use super::host::{Outbox, TaskCtx, WorkerHost};
use super::instance::{Instance, NotStarted};
use super::stats::add;
use crate::bindings::LogLevel;
use crate::cli::CacheArgs;
use crate::engine::{self, Plugin, World};
use crate::limits::Limits;
use crate::task::{carry_state, Versions};

/// The latest version of a plugin file for the components that run it with
/// one engine configuration.
#[derive(Default)]
pub struct Release {
    generation: AtomicU64,
    latest: Mutex<Option<(Plugin<WorkerHost>, Instant)>>,
    /// New versions published.
    pub published: AtomicU64,
    /// New files that did not compile or link.
    pub refused: AtomicU64,
}

impl Release {
    /// Changes with each version published; executors compare it with the
    /// one they run between batches.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The latest version, and when its file changed.
    pub fn latest(&self) -> Option<(Plugin<WorkerHost>, Instant)> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn publish(&self, plugin: Plugin<WorkerHost>, detected: Instant) {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some((plugin, detected));
        add(&self.published, 1);
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// Components that run a plugin file with one engine configuration.
pub struct Target {
    /// The engine they compile for.
    pub engine: Engine,
    /// Spout or bolt.
    pub world: World,
    /// Where their executors find new versions.
    pub release: Arc<Release>,
    /// Their ids, for messages.
    pub components: Vec<String>,
}

/// Watches `path` (now at `digest`) and publishes each new version to
/// `targets`; a file that does not compile or link is refused, and the next
/// change is tried.
pub fn watch(path: PathBuf, digest: String, targets: Vec<Target>, cache: CacheArgs) {
    let watched = path.clone();
    crate::watch::watch(watched, digest, move |change| {
        let hash = &change.digest[..16];
        for target in &targets {
            let who = target.components.join(", ");
            match engine::load_wasm::<WorkerHost>(&target.engine, &path, change.wasm.clone(), target.world, &cache) {
                Ok(plugin) => {
                    eprintln!(
                        "storm-wasm: {}: new version {hash} of {} loaded in {} ms; its tasks switch between batches",
                        who,
                        plugin.name,
                        change.detected.elapsed().as_millis()
                    );
                    target.release.publish(plugin, change.detected);
                }
                Err(e) => {
                    add(&target.release.refused, 1);
                    eprintln!(
                        "storm-wasm: {who}: new version {hash} of {} refused, the running version keeps running: {e:#}",
                        path.display()
                    );
                }
            }
        }
        true
    });
}

/// Switches one task from `inst` to `plugin`, between two calls. `start`
/// makes the new instance (prepared or opened) with the state it is given.
/// On failure the old instance stays and the reason is logged.
pub fn switch<G: Send + 'static>(
    versions: &mut Versions<WorkerHost>,
    inst: &mut Instance<G>,
    plugin: &Plugin<WorkerHost>,
    detected: Instant,
    limits: &Limits,
    start: impl FnOnce(TaskCtx) -> Result<Instance<G>, NotStarted>,
    out: &mut Outbox,
) {
    if plugin.digest == versions.current.digest {
        return;
    }
    let refuse = |ctx: &mut TaskCtx, reason: &str| {
        add(&ctx.stats.swap_failures, 1);
        let message = format!(
            "plugin {}: new version {} not started in this task, version {} keeps running: {reason}",
            plugin.name, plugin.hash, versions.current.hash
        );
        ctx.plugin_log(LogLevel::Error, &message);
    };
    let detached = inst.store.data().io.detached();
    let mut new = match start(detached) {
        Ok(new) => new,
        Err((_, reason)) => return refuse(&mut inst.store.data_mut().io, &reason),
    };
    let carry = match carry_state(
        (&mut inst.store, inst.lifecycle.as_ref(), &inst.plugin.hash),
        (&mut new.store, new.lifecycle.as_ref(), &new.plugin.hash),
        limits,
    ) {
        Ok(carry) => carry,
        Err(reason) => return refuse(&mut inst.store.data_mut().io, &reason),
    };
    let ctx = &mut new.store.data_mut().io;
    inst.store.data_mut().io.hand_over(ctx);
    if !carry.carried {
        // Inputs the old version kept to ack later: the new one never
        // heard of them, so they fail and their spouts replay them.
        let kept: Vec<u64> = ctx.in_flight.keys().copied().collect();
        for id in &kept {
            ctx.fail(*id, out);
        }
        if !kept.is_empty() {
            ctx.plugin_log(
                LogLevel::Warn,
                &format!("{} tuples kept by the old version failed at the swap", kept.len()),
            );
        }
    }
    ctx.commit(out);
    add(&ctx.stats.swaps, 1);
    ctx.plugin_log(LogLevel::Info, &carry.message(&inst.plugin, &new.plugin, detected));
    versions.switched(plugin.clone(), carry);
    crate::engine::retire(std::mem::replace(inst, new));
}
