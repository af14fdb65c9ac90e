//! The options of `storm-wasm run`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::cli::{CacheArgs, LevelArg, SandboxArgs};

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

    /// Do not watch the plugin files for new versions (hot swap is on by
    /// default: publish a new version by writing it next to the old one and
    /// renaming it into place; every task running it switches).
    #[arg(long)]
    pub no_watch: bool,

    /// The host's own log on stderr, as a tracing filter.
    #[arg(long, env = "STORM_WASM_LOG", default_value = "warn")]
    pub log: String,

    #[command(flatten)]
    pub sandbox: SandboxArgs,

    #[command(flatten)]
    pub cache: CacheArgs,
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
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3 days").is_err());
    }
}
