//! The options of `storm-wasm run`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::cli::{CacheArgs, LevelArg};
use crate::limits::{Grants, Limits};

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunTopologyArgs {
    /// The topology: a Flux YAML file, as for `storm jar … org.apache.storm.flux.Flux`,
    /// whose spouts and bolts are org.stormwasm.storm.WasmSpout/WasmBolt.
    /// `${ENV-NAME}` is always substituted (Flux needs --env-filter); a
    /// relative plugin path is looked up next to the file, then in the
    /// working directory.
    pub topology: PathBuf,

    /// Run this long, then drain and exit: `90s`, `5m`, `1h`, `500ms` (a
    /// bare number is seconds). Default: until Ctrl-C (a second Ctrl-C
    /// exits at once).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Drain and exit once no spout has emitted and nothing has been in
    /// flight for this long: for topologies whose spouts run dry.
    #[arg(long, value_parser = parse_duration)]
    pub until_idle: Option<Duration>,

    /// Print live rates to stderr this often; `0` turns them off.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub report_every: Duration,

    /// Also write the final summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,

    /// Print every tuple COMPONENT emits as a JSON line on stdout (and for
    /// a spout, the acks and fails of its messages). `COMPONENT:STREAM`
    /// for one stream. Repeatable.
    #[arg(long, value_name = "COMPONENT[:STREAM]")]
    pub tap: Vec<String>,

    /// Plugin log lines at this level and above go to stderr.
    #[arg(long, value_enum, default_value_t = LevelArg::Info)]
    pub plugin_log_level: LevelArg,

    /// The host's own log on stderr, as a tracing filter.
    #[arg(long, env = "STORM_WASM_LOG", default_value = "warn")]
    pub log: String,

    #[command(flatten)]
    pub sandbox: SandboxArgs,

    #[command(flatten)]
    pub cache: CacheArgs,
}

/// The sandbox flags of `bolt`/`spout`, for every plugin of the topology
/// (the `storm.wasm.*` keys of a component's conf override them).
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The most tuples handed to a bolt in one call.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_batch: u32,
    /// The most input bytes handed to a bolt in one call.
    #[arg(long, default_value_t = 256 << 10)]
    pub max_batch_bytes: usize,
    /// CPU deadline of one call, in milliseconds (plus --deadline-per-tuple-ms per tuple).
    #[arg(long, default_value_t = 2_000)]
    pub deadline_ms: u64,
    /// Added to the deadline per tuple of a batch.
    #[arg(long, default_value_t = 100)]
    pub deadline_per_tuple_ms: u64,
    /// Deadline of `prepare`/`open`, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub start_deadline_ms: u64,
    /// Total linear memory of each plugin instance, in MiB.
    #[arg(long, default_value_t = 256)]
    pub max_memory_mib: u64,
    /// Wasm stack of each plugin, in KiB.
    #[arg(long, default_value_t = 512)]
    pub max_stack_kib: u64,
    /// Bytes a plugin may hand the host in one call.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_host_bytes_per_call: usize,
    /// Emits in one call.
    #[arg(long, default_value_t = 100_000)]
    pub max_emits_per_call: usize,
    /// Longest plugin log line passed on.
    #[arg(long, default_value_t = 16 << 10)]
    pub max_log_line_bytes: usize,
    /// Plugin log lines per second and task passed on.
    #[arg(long, default_value_t = 200)]
    pub log_lines_per_sec: u32,
    /// Failed calls in a row before a task, and the run, gives up.
    #[arg(long, default_value_t = 5)]
    pub max_consecutive_traps: u32,
    /// Mount a host directory read-only into every plugin: `PATH` or `HOST:GUEST`. Repeatable.
    #[arg(long)]
    pub grant_dir: Vec<String>,
    /// Pass an environment variable to every plugin, by name. Repeatable.
    #[arg(long)]
    pub grant_env: Vec<String>,
    /// Turn CPU deadlines off (only to measure what they cost).
    #[arg(long)]
    pub no_deadlines: bool,
}

impl SandboxArgs {
    /// The limits of these flags (as `Limits::from_args` for `bolt`).
    pub fn limits(&self) -> Limits {
        Limits {
            max_memory: (self.max_memory_mib as usize).saturating_mul(1 << 20),
            deadline: Duration::from_millis(self.deadline_ms),
            deadline_per_tuple: Duration::from_millis(self.deadline_per_tuple_ms),
            start_deadline: Duration::from_millis(self.start_deadline_ms),
            max_stack: (self.max_stack_kib as usize) << 10,
            max_host_bytes_per_call: self.max_host_bytes_per_call,
            max_emits_per_call: self.max_emits_per_call,
            max_log_line: self.max_log_line_bytes,
            log_lines_per_sec: self.log_lines_per_sec,
            max_batch: self.max_batch as usize,
            max_batch_bytes: self.max_batch_bytes,
            max_consecutive_traps: self.max_consecutive_traps,
            poison: None,
            deadlines: !self.no_deadlines,
        }
    }

    /// The grants of these flags.
    pub fn grants(&self) -> Grants {
        let dir = |spec: &String| match spec.split_once(':') {
            Some((host, guest)) => (PathBuf::from(host), guest.to_string()),
            None => (PathBuf::from(spec), spec.clone()),
        };
        Grants { dirs: self.grant_dir.iter().map(dir).collect(), env: self.grant_env.clone() }
    }
}

/// `90s`, `5m`, `1h`, `500ms`, or seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number.parse().map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 5m, 500ms)"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit `{other}` in `{s}` (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}`: {e}"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn the_sandbox_defaults_are_those_of_bolt_and_spout() {
        let cli = crate::cli::Cli::parse_from(["storm-wasm", "bolt", "x.wasm"]);
        let crate::cli::Command::Bolt(bolt) = cli.command else { unreachable!() };
        let cli = crate::cli::Cli::parse_from(["storm-wasm", "run", "t.yaml"]);
        let crate::cli::Command::Run(run) = cli.command else { unreachable!() };
        assert_eq!(run.sandbox.limits(), Limits::from_args(&bolt));
        assert_eq!(run.sandbox.grants(), crate::limits::grants_from_args(&bolt));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3 days").is_err());
    }
}
