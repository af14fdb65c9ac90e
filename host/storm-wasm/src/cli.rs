//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Runs Apache Storm spouts and bolts compiled to WebAssembly components.
///
/// Storm starts `storm-wasm bolt <plugin.wasm>` as a ShellBolt subprocess and
/// `storm-wasm spout <plugin.wasm>` as a ShellSpout subprocess (the Java
/// classes WasmBolt and WasmSpout do this for you). Nothing but protocol
/// messages is ever written to stdout; logs go to stderr and to Storm.
#[derive(Debug, Parser)]
#[command(name = "storm-wasm", version, about, long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a bolt plugin as the subprocess of a Storm ShellBolt.
    Bolt(RunArgs),
    /// Run a spout plugin as the subprocess of a Storm ShellSpout.
    Spout(RunArgs),
    /// Run a whole topology of WASM plugins in this process, with Storm's
    /// semantics and no JVM (local mode). The topology is a Flux YAML file.
    Run(crate::worker::RunTopologyArgs),
    /// Compile a plugin into the compile cache and check it against the
    /// storm:plugin contract (run it at deploy time so tasks start fast).
    Compile(CompileArgs),
}

/// Options of `bolt` and `spout`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plugin: a WebAssembly component built against storm:plugin@0.1.
    /// A relative path is taken from the working directory, which under
    /// Storm is the topology's resources directory.
    pub plugin: PathBuf,

    /// The serializer of `topology.multilang.serializer`: `json` for Storm's
    /// default JsonSerializer, `msgpack` for org.stormwasm.storm.MessagePackSerializer,
    /// `auto` to tell from Storm's first message.
    #[arg(long, value_enum, default_value_t = SerializerArg::Json)]
    pub serializer: SerializerArg,

    #[command(flatten)]
    pub sandbox: SandboxArgs,

    /// Dead-letter a tuple after this many failures of the same content:
    /// ack it and emit (source, stream, values, error) on --poison-stream.
    /// Off by default. Conf: storm.wasm.poison.after.
    #[arg(long)]
    pub poison_after: Option<u32>,

    /// The dead-letter stream (declare it on the Java side).
    /// Conf: storm.wasm.poison.stream.
    #[arg(long, default_value = "dead_letter")]
    pub poison_stream: String,

    /// A metric, registered on the Java side, counting dead-lettered tuples.
    /// Conf: storm.wasm.poison.metric.
    #[arg(long)]
    pub poison_metric: Option<String>,

    /// Look up a relative plugin name in this directory (`split_sentence`
    /// means DIR/split_sentence.wasm).
    #[arg(long)]
    pub plugins_dir: Option<PathBuf>,

    /// Do not watch the plugin file for new versions (hot swap is on by
    /// default: publish a new version by writing it next to the old one and
    /// renaming it into place).
    #[arg(long)]
    pub no_watch: bool,

    /// Report hot-swap counts to Storm as multi-lang `metrics` commands:
    /// storm-wasm.swaps, storm-wasm.rollbacks and storm-wasm.refused, each
    /// +1 per event. Storm kills a component that reports a metric it did
    /// not register, so pass this only when the Java side registered all
    /// three (WasmBolt and WasmSpout do, and pass it).
    #[arg(long)]
    pub storm_metrics: bool,

    #[command(flatten)]
    pub cache: CacheArgs,

    #[command(flatten)]
    pub log: LogArgs,
}

/// The sandbox's limits and grants, shared by `bolt`, `spout` and `run`.
/// A component's `storm.wasm.*` conf keys override them.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The most tuples handed to a bolt in one call.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_batch: u32,

    /// The most input bytes handed to a bolt in one call (a batch always
    /// holds at least one tuple).
    #[arg(long, default_value_t = 256 << 10)]
    pub max_batch_bytes: usize,

    /// CPU deadline of one call into the plugin, in milliseconds, plus
    /// --deadline-per-tuple-ms per tuple of a batch: a call still running
    /// then is interrupted, its tuples fail and the instance is replaced.
    /// Conf: storm.wasm.deadline.ms.
    #[arg(long, default_value_t = 2_000)]
    pub deadline_ms: u64,

    /// Added to the deadline per tuple of a batch.
    /// Conf: storm.wasm.deadline.per.tuple.ms.
    #[arg(long, default_value_t = 100)]
    pub deadline_per_tuple_ms: u64,

    /// Deadline of `prepare`/`open`, in milliseconds.
    /// Conf: storm.wasm.start.deadline.ms.
    #[arg(long, default_value_t = 60_000)]
    pub start_deadline_ms: u64,

    /// Total linear memory of the plugin instance, in MiB.
    /// Conf: storm.wasm.max.memory.mb.
    #[arg(long, default_value_t = 256)]
    pub max_memory_mib: u64,

    /// Wasm stack of the plugin, in KiB. Conf: storm.wasm.max.stack.kb.
    #[arg(long, default_value_t = 512)]
    pub max_stack_kib: u64,

    /// Bytes the plugin may hand the host in one call (emits, logs,
    /// metrics); past it the call traps. Conf: storm.wasm.max.host.bytes.per.call.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_host_bytes_per_call: usize,

    /// Emits in one call; past it the call traps.
    /// Conf: storm.wasm.max.emits.per.call.
    #[arg(long, default_value_t = 100_000)]
    pub max_emits_per_call: usize,

    /// Longest plugin log line passed on (longer ones are cut).
    /// Conf: storm.wasm.log.max.line.bytes.
    #[arg(long, default_value_t = 16 << 10)]
    pub max_log_line_bytes: usize,

    /// Plugin log lines per second passed on (the rest are dropped and
    /// counted). Conf: storm.wasm.log.lines.per.sec.
    #[arg(long, default_value_t = 200)]
    pub log_lines_per_sec: u32,

    /// Traps in a row, with no call succeeding in between, before the host
    /// exits (a plugin broken for every input). Conf: storm.wasm.max.consecutive.traps.
    #[arg(long, default_value_t = 5)]
    pub max_consecutive_traps: u32,

    /// Mount a host directory read-only into the plugin: `PATH` (same path
    /// inside) or `HOST:GUEST`. Repeatable. Conf: storm.wasm.grant.dirs.
    #[arg(long)]
    pub grant_dir: Vec<String>,

    /// Pass an environment variable to the plugin, by name. Repeatable.
    /// Conf: storm.wasm.grant.env.
    #[arg(long)]
    pub grant_env: Vec<String>,

    /// Turn CPU deadlines off (only to measure what they cost).
    #[arg(long)]
    pub no_deadlines: bool,
}

/// Options of `compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The plugin to compile.
    pub plugin: PathBuf,
    /// The wasm stack the tasks will run with, in KiB (it is part of the
    /// compiled code: compile with the value the tasks use).
    #[arg(long, default_value_t = 512)]
    pub max_stack_kib: u64,
    /// Compile for tasks that run with --no-deadlines.
    #[arg(long)]
    pub no_deadlines: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Where compiled plugins are kept.
#[derive(Clone, Debug, Args)]
pub struct CacheArgs {
    /// Directory of compiled plugins, shared by every task on the machine.
    /// Default: $XDG_CACHE_HOME/storm-wasm, else ~/.cache/storm-wasm, else
    /// a storm-wasm directory in the system temp dir.
    #[arg(long, env = "STORM_WASM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile in memory on every start; write nothing to disk.
    #[arg(long)]
    pub no_cache: bool,
}

/// Logging.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The host's own log lines at this level and above are also sent to
    /// Storm as multi-lang `log` commands (they land in the worker log).
    #[arg(long, value_enum, default_value_t = LevelArg::Info)]
    pub storm_log_level: LevelArg,

    /// What goes to stderr, as a tracing filter (e.g. `debug`,
    /// `storm_wasm=trace`). Storm copies stderr into the worker log, so keep it
    /// quiet. Also read from STORM_WASM_LOG.
    #[arg(long, env = "STORM_WASM_LOG", default_value = "warn")]
    pub stderr_log: String,
}

/// `--serializer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SerializerArg {
    /// Storm's JsonSerializer.
    Json,
    /// storm-wasm's MessagePackSerializer.
    Msgpack,
    /// Tell from the first byte Storm sends.
    Auto,
}

/// A log level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// Everything.
    Trace,
    /// Debug and above.
    Debug,
    /// Info and above.
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
    /// Nothing.
    Off,
}
