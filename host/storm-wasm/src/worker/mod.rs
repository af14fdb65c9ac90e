//! The native worker: `storm-wasm run topology.yaml` runs a whole topology
//! of WASM plugins in one process, with Storm's semantics and no JVM.
//!
//! ```text
//!  spout executor ──tuples──► bolt executor queue ──► bolt executor ──► …
//!     ▲   │ init                 (bounded: backpressure)     │ ack/fail
//!     │   └────────────────────► acker(s) ◄─────────────────┘
//!     └──── ack/fail verdicts ◄──┘ (XOR trees, message timeouts)
//! ```
//! Every task is its own plugin instance; an executor is a thread running
//! one or more tasks of a component (`parallelism` executors, `numTasks`
//! tasks), so the topology uses as many cores as it has executors.

mod acker;
mod args;
mod bolt;
pub mod flux;
mod grouping;
mod host;
mod instance;
mod queue;
mod report;
mod spout;
mod stats;
mod swap;
pub mod topology;
mod tuple;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use wasmtime::Engine;

pub use args::RunTopologyArgs;
use host::{spout_state, Outbox, Shared, TaskCtx, WorkerHost};
use instance::{Gate, TaskSpec};
use report::Watched;
use topology::Topology;

use crate::bindings::Context;
use crate::cli::{LevelArg, LogArgs};
use crate::engine::{self, Plugin, World};
use crate::limits::{Grants, Limits};
use crate::{EXIT_FAILURE, EXIT_PLUGIN};

/// How often the main thread looks at signals, the clock and the tasks.
const POLL: Duration = Duration::from_millis(20);

/// Runs `storm-wasm run`.
pub fn run(args: RunTopologyArgs) -> ExitCode {
    crate::logging::init_stderr_only(&LogArgs { storm_log_level: LevelArg::Off, stderr_log: args.log.clone() });
    let limits = Limits::from_args(&args.sandbox);
    let grants = crate::limits::grants_from_args(&args.sandbox);
    let topology = match load_topology(&args.topology, &limits, &grants) {
        Ok(t) => t,
        Err(e) => return fail(EXIT_FAILURE, &e),
    };
    for note in &topology.notes {
        eprintln!("storm-wasm: note: {note}");
    }
    let taps = match parse_taps(&topology, &args.tap) {
        Ok(t) => t,
        Err(e) => return fail(EXIT_FAILURE, &e),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal exits at once (130, as a shell reports Ctrl-C).
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone());
        let _ = signal_hook::flag::register(signal, stop.clone());
    }
    let running = match Running::start(&topology, &args, taps) {
        Ok(r) => r,
        Err((code, e)) => return fail(code, &e),
    };
    running.drive(&topology, &args, &stop)
}

/// Reads and checks the topology file, each component's sandbox starting
/// from `limits` and `grants`; errors are `FILE:LINE: message`.
pub fn load_topology(path: &Path, limits: &Limits, grants: &Grants) -> Result<Topology, String> {
    let def = flux::load(path)?;
    topology::build(def, limits, grants).map_err(|e| match e.strip_prefix("line ") {
        Some(rest) => format!("{}:{rest}", path.display()),
        None => format!("{}: {e}", path.display()),
    })
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("storm-wasm: {message}");
    ExitCode::from(code)
}

fn parse_taps(topology: &Topology, taps: &[String]) -> Result<FxHashMap<String, Vec<String>>, String> {
    let mut out: FxHashMap<String, Vec<String>> = FxHashMap::default();
    for tap in taps {
        let (component, stream) = match tap.split_once(':') {
            Some((c, s)) => (c, Some(s)),
            None => (tap.as_str(), None),
        };
        let Some(index) = topology.component(component) else {
            return Err(format!("--tap {tap}: no component {component} in the topology"));
        };
        let streams = out.entry(component.to_string()).or_default();
        if let Some(stream) = stream {
            if !topology.components[index].streams.iter().any(|s| &*s.id == stream) {
                return Err(format!("--tap {tap}: {component} declares no stream {stream}"));
            }
            streams.push(stream.to_string());
        }
    }
    Ok(out)
}

/// The plugins, compiled once per file and engine configuration.
struct Plugins {
    engines: HashMap<(usize, bool), Engine>,
    loaded: HashMap<(PathBuf, usize, bool), Plugin<WorkerHost>>,
}

impl Plugins {
    fn get(
        &mut self,
        path: &Path,
        world: World,
        limits: &Limits,
        args: &RunTopologyArgs,
    ) -> Result<&Plugin<WorkerHost>, (u8, String)> {
        let key = (limits.max_stack, limits.deadlines);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.engines.entry(key) {
            let engine = engine::new_engine(key.0, key.1).map_err(|e| (EXIT_FAILURE, format!("{e:#}")))?;
            if key.1 {
                engine::start_epoch_ticker(&engine);
            }
            slot.insert(engine);
        }
        let engine = &self.engines[&key];
        let id = (path.to_path_buf(), key.0, key.1);
        if !self.loaded.contains_key(&id) {
            let plugin = engine::load::<WorkerHost>(engine, path, world, &args.cache)
                .map_err(|e| (EXIT_PLUGIN, format!("{e:#}")))?;
            self.loaded.insert(id.clone(), plugin);
        }
        Ok(&self.loaded[&id])
    }
}

/// Where the executors of each component find new versions of its plugin:
/// one release per file, engine configuration and world, one watcher per file.
#[derive(Default)]
struct Releases {
    files: BTreeMap<PathBuf, (String, Vec<swap::Target>)>,
}

impl Releases {
    fn add(&mut self, c: &topology::Component, engine: &Engine, plugin: &Plugin<WorkerHost>) -> Arc<swap::Release> {
        let (_, targets) = self.files.entry(c.plugin.clone()).or_insert_with(|| (plugin.digest.clone(), Vec::new()));
        // One engine per configuration (see `Plugins`): the same engine, the same compiled code.
        let same = |t: &&mut swap::Target| t.world == c.world && Engine::same(&t.engine, engine);
        if let Some(target) = targets.iter_mut().find(same) {
            target.components.push(c.id.to_string());
            return target.release.clone();
        }
        let release = Arc::new(swap::Release::default());
        targets.push(swap::Target {
            engine: engine.clone(),
            world: c.world,
            release: release.clone(),
            components: vec![c.id.to_string()],
        });
        release
    }

    /// Starts the watchers.
    fn watch(self, cache: &crate::cli::CacheArgs) {
        for (path, (digest, targets)) in self.files {
            swap::watch(path, digest, targets, cache.clone());
        }
    }
}

/// A started topology.
struct Running {
    shared: Arc<Shared>,
    gate: Arc<Gate>,
    inboxes: Vec<Arc<acker::Inbox>>,
    executors: Vec<JoinHandle<()>>,
    ackers: Vec<(JoinHandle<()>, Arc<AtomicUsize>)>,
    watched: Vec<Watched>,
}

impl Running {
    /// Loads the plugins and starts every executor; they prepare their
    /// instances and wait at the gate.
    fn start(
        topology: &Topology,
        args: &RunTopologyArgs,
        taps: FxHashMap<String, Vec<String>>,
    ) -> Result<Self, (u8, String)> {
        let mut plugins = Plugins { engines: HashMap::new(), loaded: HashMap::new() };

        // Queues: one per bolt executor.
        let mut queues = Vec::new();
        let mut executor_of = vec![usize::MAX; topology.task_slots()];
        for c in topology.components.iter().filter(|c| c.world == World::Bolt) {
            for tasks in &c.executors {
                for &t in tasks {
                    executor_of[t as usize] = queues.len();
                }
                queues.push(Arc::new(queue::TaskQueue::new(topology.receive_buffer)));
            }
        }
        let plugin_log_level = match args.plugin_log_level {
            LevelArg::Trace => 0,
            LevelArg::Debug => 1,
            LevelArg::Info => 2,
            LevelArg::Warn => 3,
            LevelArg::Error => 4,
            LevelArg::Off => 5,
        };
        let shared = Arc::new(Shared {
            names: topology
                .components
                .iter()
                .map(|c| (c.id.to_string(), c.streams.iter().map(|s| s.id.to_string()).collect()))
                .collect(),
            queues: queues.clone(),
            executor_of,
            acking: topology.ackers > 0,
            abort: AtomicBool::new(false),
            fatal: Mutex::new(None),
            spouts: AtomicU8::new(spout_state::INACTIVE),
            plugin_log_level,
            taps,
            tap_out: Mutex::new(std::io::BufWriter::new(std::io::stdout())),
            metrics: Mutex::new(BTreeMap::new()),
        });

        // Inboxes: one per spout executor; ackers know which serves a task.
        let mut inboxes = Vec::new();
        let mut inbox_of = vec![usize::MAX; topology.task_slots()];
        for c in topology.components.iter().filter(|c| c.world == World::Spout) {
            for tasks in &c.executors {
                for &t in tasks {
                    inbox_of[t as usize] = inboxes.len();
                }
                inboxes.push(Arc::new(acker::Inbox::default()));
            }
        }
        // More ackers than cores only adds hand-overs.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let n_ackers = topology.ackers.min(cores);
        let mut acker_senders = Vec::new();
        let mut ackers = Vec::new();
        for i in 0..n_ackers.max(usize::from(topology.ackers > 0)) {
            let (tx, rx) = mpsc::channel();
            acker_senders.push(tx);
            let tracked = Arc::new(AtomicUsize::new(0));
            let state = acker::Acker::new(topology.message_timeout, inbox_of.clone(), inboxes.clone());
            let gauge = tracked.clone();
            let handle = std::thread::Builder::new()
                .name(format!("acker-{i}"))
                .spawn(move || acker::run(state, rx, gauge))
                .map_err(|e| (EXIT_FAILURE, format!("cannot start a thread: {e}")))?;
            ackers.push((handle, tracked));
        }

        let gate = Arc::new(Gate::default());
        let mut executors = Vec::new();
        let mut watched = Vec::new();
        let mut releases = Releases::default();
        let (mut spout_exec, mut bolt_exec) = (0, 0);
        for (index, c) in topology.components.iter().enumerate() {
            let plugin = plugins.get(&c.plugin, c.world, &c.limits, args)?.clone();
            let engine = plugins.engines[&(c.limits.max_stack, c.limits.deadlines)].clone();
            let release = (!args.no_watch).then(|| releases.add(c, &engine, &plugin));
            let name = plugin.name.clone();
            let limits = Arc::new(c.limits.clone());
            let grants = Arc::new(c.grants.clone());
            let conf = Arc::new(topology::encode(&c.conf));
            let mut stats = Vec::new();
            let mut component_queues = Vec::new();
            for (e, tasks) in c.executors.iter().enumerate() {
                let mut specs = Vec::new();
                for &task in tasks {
                    let spec = TaskSpec {
                        engine: engine.clone(),
                        conf: conf.clone(),
                        context: Context {
                            task_id: task,
                            component_id: c.id.to_string(),
                            raw: topology::context(topology, index, task),
                        },
                        limits: limits.clone(),
                        grants: grants.clone(),
                    };
                    let ctx = TaskCtx::new(topology, index, task, name.clone(), limits.clone(), shared.clone());
                    stats.push(ctx.stats.clone());
                    specs.push((spec, ctx));
                }
                let outbox = Outbox::new(queues.len(), acker_senders.clone());
                let thread = std::thread::Builder::new().name(format!("{}-{e}", c.id));
                let gate = gate.clone();
                let shared = shared.clone();
                let handle = match c.world {
                    World::Spout => {
                        let exec = spout::SpoutExecutor {
                            tasks: specs,
                            plugin: plugin.clone(),
                            release: release.clone(),
                            inbox: inboxes[spout_exec].clone(),
                            outbox,
                            shared,
                            max_pending: c.max_spout_pending,
                            gate,
                        };
                        spout_exec += 1;
                        thread.spawn(move || spout::run(exec))
                    }
                    World::Bolt => {
                        let queue = queues[bolt_exec].clone();
                        component_queues.push(queue.clone());
                        let exec = bolt::BoltExecutor {
                            tasks: specs,
                            plugin: plugin.clone(),
                            release: release.clone(),
                            queue,
                            outbox,
                            shared,
                            tick: c.tick,
                            gate,
                        };
                        bolt_exec += 1;
                        thread.spawn(move || bolt::run(exec))
                    }
                };
                executors.push(handle.map_err(|e| (EXIT_FAILURE, format!("cannot start a thread: {e}")))?);
            }
            watched.push((
                c.order,
                Watched {
                    id: c.id.to_string(),
                    world: c.world,
                    tasks: stats,
                    queues: component_queues,
                    release,
                    dead_letters: c.limits.poison.as_ref().map(|p| p.stream.clone()),
                },
            ));
        }
        drop(acker_senders);
        // Display in file order, spouts first.
        watched.sort_by_key(|(order, _)| *order);
        let watched = watched.into_iter().map(|(_, w)| w).collect();
        let mut running = Running { shared, gate, inboxes, executors, ackers, watched };
        if let Err(e) = running.gate.wait_ready(running.executors.len()) {
            running.gate.open(false);
            running.shared.abort.store(true, Ordering::SeqCst);
            running.join();
            return Err((EXIT_PLUGIN, e));
        }
        releases.watch(&args.cache);
        Ok(running)
    }

    fn set_spouts(&self, state: u8) {
        self.shared.spouts.store(state, Ordering::SeqCst);
        for inbox in &self.inboxes {
            inbox.wake();
        }
    }

    /// Tuples queued or being worked on, and spout trees pending.
    fn in_flight(&self) -> (usize, u64) {
        let queued = self.shared.queues.iter().map(|q| q.depth().1).sum();
        let pending = self.watched.iter().filter(|w| w.world == World::Spout).map(|w| w.totals().pending).sum();
        (queued, pending)
    }

    /// Emits, executions, acks and fails so far: it stops moving when the topology is idle.
    fn activity(&self) -> u64 {
        self.watched
            .iter()
            .map(|w| {
                let t = w.totals();
                t.emitted + t.executed + t.acked + t.failed
            })
            .sum()
    }

    fn join(&mut self) {
        self.shared.spouts.store(spout_state::STOP, Ordering::SeqCst);
        for inbox in &self.inboxes {
            inbox.wake();
        }
        for q in &self.shared.queues {
            q.close();
        }
        for handle in self.executors.drain(..) {
            let _ = handle.join();
        }
        // The executors held the acker channels: the ackers stop now.
        for (handle, _) in self.ackers.drain(..) {
            let _ = handle.join();
        }
    }

    /// Runs until the duration, Ctrl-C, idleness or a fatal error; drains;
    /// prints the summary.
    fn drive(mut self, topology: &Topology, args: &RunTopologyArgs, stop: &AtomicBool) -> ExitCode {
        self.gate.open(true);
        self.set_spouts(spout_state::ACTIVE);
        let tasks: usize = topology.components.iter().map(|c| c.tasks.len()).sum();
        let threads: usize = topology.components.iter().map(|c| c.executors.len()).sum();
        eprintln!(
            "storm-wasm run {}: {} components, {tasks} tasks on {threads} executor threads, {} acker(s), message timeout {} s; {}",
            topology.name,
            topology.components.len(),
            self.ackers.len(),
            topology.message_timeout.as_secs(),
            match args.duration {
                Some(d) => format!("running for {d:?} (Ctrl-C stops earlier)"),
                None => "running until Ctrl-C".into(),
            }
        );
        let started = Instant::now();
        let mut last_report = (started, report::Snapshot::take(&self.watched));
        let (mut last_activity, mut idle_since) = (self.activity(), Instant::now());
        let reason = loop {
            std::thread::sleep(POLL);
            let now = Instant::now();
            if stop.load(Ordering::Relaxed) {
                break "Ctrl-C".to_string();
            }
            if self.shared.abort.load(Ordering::Relaxed) {
                break "a fatal error".to_string();
            }
            if args.duration.is_some_and(|d| now.duration_since(started) >= d) {
                break "--duration".to_string();
            }
            if let Some(idle) = args.until_idle {
                let activity = self.activity();
                if activity != last_activity || self.in_flight() != (0, 0) {
                    (last_activity, idle_since) = (activity, now);
                } else if now.duration_since(idle_since) >= idle {
                    break "--until-idle".to_string();
                }
            }
            if !args.report_every.is_zero() && now.duration_since(last_report.0) >= args.report_every {
                let snapshot = report::Snapshot::take(&self.watched);
                eprint!("{}", report::live(&self.watched, &last_report.1, &snapshot, now.duration_since(started)));
                let _ = std::io::Write::flush(&mut *self.shared.tap_out.lock().unwrap_or_else(|e| e.into_inner()));
                last_report = (now, snapshot);
            }
        };
        let ran = started.elapsed();
        // The drain: no new spout tuples; what is in flight finishes (or
        // times out, which fails it back to its spout).
        self.set_spouts(spout_state::INACTIVE);
        let drain_started = Instant::now();
        let drain_deadline = drain_started + topology.message_timeout + Duration::from_secs(5);
        let mut drained = false;
        if !self.shared.abort.load(Ordering::Relaxed) {
            eprintln!("storm-wasm: stopping ({reason}): draining the tuples in flight");
            let mut quiet_checks = 0;
            while Instant::now() < drain_deadline && !self.shared.abort.load(Ordering::Relaxed) {
                quiet_checks = if self.in_flight() == (0, 0) { quiet_checks + 1 } else { 0 };
                // Twice in a row: a tuple between an outbox and a queue is not missed.
                if quiet_checks >= 2 {
                    drained = true;
                    break;
                }
                std::thread::sleep(POLL);
            }
            if !drained {
                let (queued, pending) = self.in_flight();
                eprintln!("storm-wasm: the drain gave up: {queued} tuples queued, {pending} spout messages pending");
                self.shared.abort.store(true, Ordering::SeqCst);
            }
        }
        let drained_in = drain_started.elapsed();
        let fatal = self.shared.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let metrics = self
            .shared
            .metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|((c, n), v)| (c.clone(), n.clone(), *v))
            .collect();
        self.join();
        let outcome = report::Outcome {
            name: topology.name.clone(),
            ran,
            drained_in,
            drained,
            reason,
            fatal: fatal.clone(),
            metrics,
        };
        let (text, json) = report::summary(&self.watched, &outcome);
        {
            let mut out = self.shared.tap_out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = std::io::Write::flush(&mut *out);
        }
        // Not print!: it panics when stdout is a closed pipe.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
        if let Some(path) = &args.summary_json {
            if let Err(e) = std::fs::write(path, serde_json::to_vec_pretty(&json).unwrap_or_default()) {
                eprintln!("storm-wasm: cannot write {}: {e}", path.display());
            }
        }
        if fatal.is_some() {
            ExitCode::from(EXIT_PLUGIN)
        } else {
            ExitCode::SUCCESS
        }
    }
}
