//! One Storm task: the handshake, the reader thread, and the plugin loop.
//!
//! ```text
//!   stdin ──► reader thread ──► events ──► main thread: plugin calls ──┐
//!                 │  heartbeat → sync          (batches of tuples)     │
//!                 │  task ids ──► the emit waiting for them            │
//!                 └────────────────► Output (one lock) ◄───────────────┘──► stdout
//! ```
//! The plugin never runs on the thread that reads Storm, so heartbeats are
//! answered at once whatever the plugin does; CPU deadlines bound the plugin.

mod bolt;
mod instance;
mod spout;
mod swap;

use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use storm_multilang::{BoltTuple, Handshake, Incoming, MessageReader, Outgoing, ReadError, Serializer, SpoutCommand};
use wasmtime::Engine;

use crate::bindings::Context;
use crate::cli::{RunArgs, SerializerArg};
use crate::engine::{self, Plugin, World};
use crate::limits::{self, Limits};
use crate::logging::PLUGIN_TARGET;
use crate::output::Output;
use crate::restarts::Restarts;
use crate::sandbox;
pub(crate) use crate::sandbox::trap_cause;
use crate::state::TaskIo;
use crate::{logging, EXIT_FAILURE, EXIT_PLUGIN, EXIT_PROTOCOL};
pub(crate) use bolt::{dead_letter_values, PoisonTracker};
pub(crate) use instance::{carry_state, lifecycle, restore, Versions};
use instance::{HostMetrics, Instance, Starter, REFUSED_METRIC, ROLLBACKS_METRIC, SWAPS_METRIC};
use std::sync::atomic::AtomicBool;
use swap::SwapEvent;

/// Bolt or spout.
pub use crate::engine::World as Kind;

/// What the reader thread hands the plugin thread.
pub(crate) enum Event {
    /// Every tuple decoded from one read of stdin: handing them over
    /// together costs one wake-up of the plugin thread, not one per tuple.
    Tuples(Vec<BoltTuple>),
    Spout(SpoutCommand),
    /// Storm closed stdin between messages: finish and exit 0.
    Closed,
    /// Storm broke the protocol: finish the batch in hand, then exit.
    Fatal(String),
}

/// Runs `storm-wasm bolt|spout`.
pub fn run(kind: Kind, args: RunArgs) -> ExitCode {
    logging::init(&args.log);
    let mut limits = Limits::from_args(&args.sandbox);
    limits.poison = args.poison_after.map(|after| limits::Poison {
        after,
        stream: args.poison_stream.clone(),
        metric: args.poison_metric.clone(),
    });
    let mut grants = limits::grants_from_args(&args.sandbox);
    let plugin_path = resolve_plugin(&args);
    let load = |limits: &Limits| -> Result<(Engine, Plugin), ExitCode> {
        let engine = engine::new_engine(limits.max_stack, limits.deadlines)
            .map_err(|e| fail(EXIT_FAILURE, &format!("{e:#}")))?;
        let plugin =
            engine::load(&engine, &plugin_path, kind, &args.cache).map_err(|e| fail(EXIT_PLUGIN, &format!("{e:#}")))?;
        Ok((engine, plugin))
    };
    // Compile before the handshake: Storm is still starting up meanwhile.
    let (mut engine, mut plugin) = match load(&limits) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };

    let mut reader = match args.serializer {
        SerializerArg::Json => MessageReader::new(io::stdin(), Serializer::Json),
        SerializerArg::Msgpack => MessageReader::new(io::stdin(), Serializer::MessagePack),
        SerializerArg::Auto => MessageReader::detecting(io::stdin()),
    };
    let handshake = match reader.next_message() {
        Ok(Incoming::Handshake(h)) => h,
        Ok(other) => {
            return fail(EXIT_PROTOCOL, &format!("expected Storm's handshake first, got {}", describe(&other)))
        }
        Err(ReadError::Closed) => return fail(EXIT_PROTOCOL, "Storm closed stdin before the handshake"),
        Err(e) => {
            return fail(EXIT_PROTOCOL, &format!("{e} (is --serializer {:?} what the topology uses?)", args.serializer))
        }
    };
    let serializer = reader.serializer().expect("known once a message was read");
    let output = Arc::new(Output::new(io::stdout(), serializer));
    write_pid_file(&handshake);
    if let Err(e) = output.send_first(&Outgoing::Pid(std::process::id())) {
        return fail(EXIT_FAILURE, &format!("cannot answer the handshake: {e}"));
    }

    // The component's conf may change the limits (and the engine with them).
    let compiled_with = (limits.max_stack, limits.deadlines);
    let conf = rmpv::decode::read_value(&mut &handshake.conf[..]).unwrap_or(rmpv::Value::Nil);
    for warning in limits.apply_conf(&conf, &mut grants) {
        tracing::warn!("{warning}");
    }
    if (limits.max_stack, limits.deadlines) != compiled_with {
        (engine, plugin) = match load(&limits) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
    }
    if limits.deadlines {
        engine::start_epoch_ticker(&engine);
    }
    tracing::info!(
        plugin = %plugin.name, hash = %plugin.hash, task = handshake.task_id, component = %handshake.component_id, ?serializer,
        "{} started", match kind { World::Bolt => "bolt", World::Spout => "spout" }
    );
    tracing::info!(
        "sandbox of {}: memory {} MiB, deadline {} ms + {} ms per tuple, stack {} KiB, {} bytes and {} emits per call, grants: {}",
        plugin.name,
        limits.max_memory >> 20,
        limits.deadline.as_millis(),
        limits.deadline_per_tuple.as_millis(),
        limits.max_stack >> 10,
        limits.max_host_bytes_per_call,
        limits.max_emits_per_call,
        sandbox::describe_grants(&grants)
    );

    let (events_tx, events) = mpsc::channel();
    let (task_ids_tx, task_ids) = mpsc::channel();
    let reader_output = output.clone();
    std::thread::Builder::new()
        .name("storm-reader".into())
        .spawn(move || read_storm(reader, kind, reader_output, events_tx, task_ids_tx))
        .expect("cannot start the reader thread");

    let limits = Arc::new(limits);
    let starter = Starter {
        engine,
        conf: Arc::new(handshake.conf),
        context: Context {
            task_id: handshake.task_id,
            component_id: handshake.component_id.clone(),
            raw: handshake.context,
        },
        limits: limits.clone(),
        grants,
        active: Arc::new(AtomicBool::new(false)),
    };
    let swaps = if args.no_watch {
        mpsc::channel().1
    } else {
        let (output, name, limits) = (output.clone(), plugin.name.clone(), limits.clone());
        let new_io = move || TaskIo::detached(output.clone(), name.clone(), limits.clone());
        swap::watch(plugin_path.clone(), kind, args.cache.clone(), starter.clone(), new_io, plugin.digest.clone())
    };
    let io = TaskIo::new(output.clone(), plugin.name.clone(), limits, task_ids);
    let versions = Versions::new(plugin);
    let metrics = HostMetrics::new(args.storm_metrics);
    let mut task = Task { starter, versions, metrics, swaps, restarts: Restarts::default() };
    let code = match kind {
        World::Bolt => bolt::run(&mut task, io, events),
        World::Spout => spout::run(&mut task, io, events),
    };
    let _ = output.flush();
    code
}

/// A task's plugin: how to start it, its versions, new versions on the way.
pub(crate) struct Task {
    pub starter: Starter,
    pub versions: Versions,
    /// Where swaps, rollbacks and refusals are counted for Storm.
    pub metrics: HostMetrics,
    pub swaps: Receiver<SwapEvent>,
    pub restarts: Restarts,
}

impl Task {
    /// Starts an instance of the current version, retrying with backoff.
    pub fn start(&mut self, mut io: TaskIo) -> Result<Instance, String> {
        loop {
            match self.versions.start(&self.starter, io) {
                Ok(instance) => return Ok(instance),
                Err((back, reason)) => {
                    let name = self.versions.current.name.clone();
                    tracing::error!(target: PLUGIN_TARGET, "plugin {name} cannot start: {reason}");
                    let metrics = self.metrics;
                    self.restarts.after_failure(&self.starter.limits, &mut self.versions, &name, &reason, |m| {
                        report_rollback(&back, metrics, m)
                    })?;
                    io = *back;
                }
            }
        }
    }

    /// Applies what the watcher found, between two batches or commands.
    pub fn apply_swaps(&mut self, mut instance: Instance) -> Instance {
        while let Ok(event) = self.swaps.try_recv() {
            instance = match event {
                SwapEvent::Refused { hash, reason } => {
                    let message = format!(
                        "plugin {}: new version {hash} refused, version {} keeps running: {reason}",
                        instance.plugin.name, instance.plugin.hash
                    );
                    instance::report(instance.io(), &message);
                    self.versions.on_refused();
                    self.metrics.count(&instance.io().output, REFUSED_METRIC);
                    instance
                }
                SwapEvent::Ready { instance: new, detected } => {
                    match self.versions.switch(&self.starter, instance, *new, detected) {
                        Ok(mut switched) => {
                            self.metrics.count(&switched.io().output, SWAPS_METRIC);
                            self.restarts.succeeded();
                            switched
                        }
                        Err((mut old, reason)) => {
                            let message = format!(
                                "plugin {}: swap refused, version {} keeps running: {reason}",
                                old.plugin.name, old.plugin.hash
                            );
                            instance::report(old.io(), &message);
                            self.versions.on_refused();
                            self.metrics.count(&old.io().output, REFUSED_METRIC);
                            *old
                        }
                    }
                }
            };
        }
        instance
    }
}

/// The plugin file: with --plugins-dir a bare name is looked up there.
fn resolve_plugin(args: &RunArgs) -> std::path::PathBuf {
    match &args.plugins_dir {
        Some(dir) if args.plugin.is_relative() => {
            let mut path = dir.join(&args.plugin);
            if path.extension().is_none() {
                path.set_extension("wasm");
            }
            path
        }
        _ => args.plugin.clone(),
    }
}

/// Most tuples handed over at once.
const HANDOVER: usize = 256;

/// Reads Storm until it closes stdin or breaks the protocol.
fn read_storm(
    mut reader: MessageReader<io::Stdin>,
    kind: Kind,
    output: Arc<Output>,
    events: Sender<Event>,
    task_ids: Sender<Vec<i32>>,
) {
    let mut tuples = Vec::new();
    loop {
        let event = match (kind, reader.next_message()) {
            (World::Bolt, Ok(Incoming::Tuple(t))) if t.is_heartbeat() => {
                // Answered here, never acked: its id is not in Storm's pending map.
                match output.send_now(&Outgoing::Sync) {
                    Ok(()) => None,
                    Err(e) => Some(Event::Fatal(format!("cannot answer a heartbeat: {e}"))),
                }
            }
            (World::Bolt, Ok(Incoming::Tuple(t))) => {
                tuples.push(t);
                None
            }
            (World::Spout, Ok(Incoming::Spout(c))) => Some(Event::Spout(c)),
            (_, Ok(Incoming::TaskIds(ids))) => {
                let _ = task_ids.send(ids);
                None
            }
            (World::Bolt, Ok(msg)) => Some(Event::Fatal(format!(
                "Storm sent {} to a bolt (is this component a spout? then run `storm-wasm spout`)",
                describe(&msg)
            ))),
            (World::Spout, Ok(msg)) => Some(Event::Fatal(format!(
                "Storm sent {} to a spout (is this component a bolt? then run `storm-wasm bolt`)",
                describe(&msg)
            ))),
            (_, Err(ReadError::Closed)) => Some(Event::Closed),
            (_, Err(e)) => Some(Event::Fatal(e.to_string())),
        };
        // Tuples go first: a later control event must not overtake them.
        if !tuples.is_empty()
            && (event.is_some() || tuples.len() >= HANDOVER || !reader.has_buffered_message())
            && events.send(Event::Tuples(std::mem::take(&mut tuples))).is_err()
        {
            return;
        }
        let Some(event) = event else { continue };
        let last = !matches!(event, Event::Spout(_));
        if events.send(event).is_err() || last {
            return;
        }
    }
}

fn describe(msg: &Incoming) -> String {
    match msg {
        Incoming::Handshake(_) => "a second handshake".into(),
        Incoming::Tuple(t) => format!("a tuple (stream {}, id {})", t.stream, t.id),
        Incoming::TaskIds(ids) => format!("a task-id list {ids:?}"),
        Incoming::Spout(c) => format!("the spout command {c:?}"),
    }
}

/// Storm's supervisor kills the pids named by the files in `pidDir` when the
/// worker goes away; without the file this process could outlive it.
fn write_pid_file(handshake: &Handshake) {
    let path = Path::new(&handshake.pid_dir).join(std::process::id().to_string());
    if let Err(e) = std::fs::File::create(&path) {
        tracing::warn!(
            "cannot create the pid file {}: {e} (Storm will not be able to kill this process when the worker dies)",
            path.display()
        );
    }
}

/// Reports a fatal error on stderr (Storm appends stderr to the error it
/// shows) and returns `code`.
fn fail(code: u8, message: &str) -> ExitCode {
    tracing::error!("{message}");
    eprintln!("storm-wasm: {message}");
    let _ = io::Write::flush(&mut io::stderr());
    ExitCode::from(code)
}

/// A new version rolled back: Storm gets an `error` and the metric.
pub(crate) fn report_rollback(io: &TaskIo, metrics: HostMetrics, message: &str) {
    instance::report(io, message);
    metrics.count(&io.output, ROLLBACKS_METRIC);
}

/// Reports a fatal protocol problem to Storm and stderr.
pub(crate) fn fatal_protocol(output: &Output, message: &str) -> ExitCode {
    let _ = output.send_now(&Outgoing::Error(&format!("storm-wasm: {message}")));
    fail(EXIT_PROTOCOL, message)
}

/// A plugin that cannot go on: say why and stop.
pub(crate) fn fatal_plugin(output: &Output, message: &str) -> ExitCode {
    let _ = output.send_now(&Outgoing::Error(&format!("storm-wasm: {message}")));
    fail(EXIT_PLUGIN, message)
}

pub(crate) fn recv(events: &Receiver<Event>) -> Event {
    events.recv().unwrap_or(Event::Closed)
}
