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

    /// The most tuples handed to a bolt in one call.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_batch: u32,

    /// The most input bytes handed to a bolt in one call (a batch always
    /// holds at least one tuple).
    #[arg(long, default_value_t = 256 << 10)]
    pub max_batch_bytes: usize,

    /// CPU deadline of one call into the plugin, in milliseconds: a call
    /// still running then is interrupted and its tuples fail.
    #[arg(long, default_value_t = 10_000)]
    pub deadline_ms: u64,

    /// Deadline of `prepare`/`open`, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub start_deadline_ms: u64,

    /// Most linear memory of the plugin instance, in MiB.
    #[arg(long, default_value_t = 512)]
    pub max_memory_mib: u64,

    #[command(flatten)]
    pub cache: CacheArgs,

    #[command(flatten)]
    pub log: LogArgs,
}

/// Options of `compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The plugin to compile.
    pub plugin: PathBuf,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Where compiled plugins are kept.
#[derive(Debug, Args)]
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
