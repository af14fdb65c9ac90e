//! The sandbox's limits and grants: safe defaults, overridden by command-line
//! flags, overridden in turn by the component's topology conf (Storm passes
//! the conf in the handshake, including the keys a component sets in
//! `getComponentConfiguration()`, so each component can have its own).

use std::path::PathBuf;
use std::time::Duration;

use rmpv::Value;

use crate::cli::SandboxArgs;

/// Every limit the host enforces on one plugin instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Total linear memory of the instance, all memories together (bytes).
    pub max_memory: usize,
    /// CPU deadline of one call, plus `deadline_per_tuple` per tuple of a batch.
    pub deadline: Duration,
    /// Added to the deadline for each tuple of a batch.
    pub deadline_per_tuple: Duration,
    /// Deadline of `prepare`/`open`.
    pub start_deadline: Duration,
    /// Wasm stack (bytes). Part of the engine configuration.
    pub max_stack: usize,
    /// Bytes a plugin may hand the host in one call (emits, logs, metrics).
    pub max_host_bytes_per_call: usize,
    /// Emits in one call.
    pub max_emits_per_call: usize,
    /// Longest log line passed on; longer ones are cut.
    pub max_log_line: usize,
    /// Log lines per second passed on; the rest are dropped and counted.
    pub log_lines_per_sec: u32,
    /// Tuples per call.
    pub max_batch: usize,
    /// Input bytes per call.
    pub max_batch_bytes: usize,
    /// Traps in a row (no call succeeding in between) before the host gives up.
    pub max_consecutive_traps: u32,
    /// Dead-letter policy for tuples that keep failing; off by default.
    pub poison: Option<Poison>,
    /// Epoch deadlines on (off only to measure what they cost).
    pub deadlines: bool,
}

/// After `after` failures of tuples with the same content, the next one is
/// acked and emitted on `stream` with its error instead of failing again.
#[derive(Clone, Debug, PartialEq)]
pub struct Poison {
    /// Failures before dead-lettering.
    pub after: u32,
    /// The dead-letter stream (declare it on the Java side with fields
    /// `source`, `stream`, `values`, `error`).
    pub stream: String,
    /// A metric to update per dead-lettered tuple (must be registered on the
    /// Java side, e.g. `WasmBolt.withMetric(name)`: Storm dies on an unknown one).
    pub metric: Option<String>,
}

/// Capabilities granted on top of the default (clocks and random only).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grants {
    /// Host directories mounted read-only: (host path, guest path).
    pub dirs: Vec<(PathBuf, String)>,
    /// Environment variables passed through, by name.
    pub env: Vec<String>,
}

impl Limits {
    /// The limits of the command line (no dead-letter policy: that is
    /// `bolt`'s own flag, see [`Poison`]).
    pub fn from_args(args: &SandboxArgs) -> Self {
        Limits {
            max_memory: mib(args.max_memory_mib),
            deadline: Duration::from_millis(args.deadline_ms),
            deadline_per_tuple: Duration::from_millis(args.deadline_per_tuple_ms),
            start_deadline: Duration::from_millis(args.start_deadline_ms),
            max_stack: (args.max_stack_kib as usize) << 10,
            max_host_bytes_per_call: args.max_host_bytes_per_call,
            max_emits_per_call: args.max_emits_per_call,
            max_log_line: args.max_log_line_bytes,
            log_lines_per_sec: args.log_lines_per_sec,
            max_batch: args.max_batch as usize,
            max_batch_bytes: args.max_batch_bytes,
            max_consecutive_traps: args.max_consecutive_traps,
            poison: None,
            deadlines: !args.no_deadlines,
        }
    }

    /// The deadline of a call that handles `tuples` tuples.
    pub fn call_deadline(&self, tuples: usize) -> Duration {
        self.deadline + self.deadline_per_tuple * tuples as u32
    }

    /// Applies the `storm.wasm.*` keys of a topology conf (a MessagePack map).
    /// Returns a warning per key that has the wrong type.
    pub fn apply_conf(&mut self, conf: &Value, grants: &mut Grants) -> Vec<String> {
        let mut warnings = Vec::new();
        let Value::Map(entries) = conf else { return warnings };
        for (key, value) in entries {
            let Some(key) = key.as_str().and_then(|k| k.strip_prefix("storm.wasm.")) else { continue };
            let num = || value.as_u64().or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64));
            let ok = match key {
                "max.memory.mb" => num().map(|n| self.max_memory = mib(n)).is_some(),
                "deadline.ms" => num().map(|n| self.deadline = Duration::from_millis(n)).is_some(),
                "deadline.per.tuple.ms" => num().map(|n| self.deadline_per_tuple = Duration::from_millis(n)).is_some(),
                "start.deadline.ms" => num().map(|n| self.start_deadline = Duration::from_millis(n)).is_some(),
                "max.stack.kb" => num().map(|n| self.max_stack = (n as usize) << 10).is_some(),
                "max.host.bytes.per.call" => num().map(|n| self.max_host_bytes_per_call = n as usize).is_some(),
                "max.emits.per.call" => num().map(|n| self.max_emits_per_call = n as usize).is_some(),
                "log.max.line.bytes" => num().map(|n| self.max_log_line = n as usize).is_some(),
                "log.lines.per.sec" => num().map(|n| self.log_lines_per_sec = n as u32).is_some(),
                "max.batch" => num().filter(|n| *n >= 1).map(|n| self.max_batch = n as usize).is_some(),
                "max.batch.bytes" => num().map(|n| self.max_batch_bytes = n as usize).is_some(),
                "max.consecutive.traps" => num().map(|n| self.max_consecutive_traps = n as u32).is_some(),
                "poison.after" => num()
                    .map(|n| {
                        let p = self.poison.get_or_insert_with(|| Poison {
                            after: 0,
                            stream: "dead_letter".into(),
                            metric: None,
                        });
                        p.after = n as u32;
                    })
                    .is_some(),
                "poison.stream" => value
                    .as_str()
                    .map(|s| {
                        let p =
                            self.poison.get_or_insert_with(|| Poison { after: 3, stream: String::new(), metric: None });
                        p.stream = s.to_string();
                    })
                    .is_some(),
                "poison.metric" => value
                    .as_str()
                    .map(|s| {
                        let p = self.poison.get_or_insert_with(|| Poison {
                            after: 3,
                            stream: "dead_letter".into(),
                            metric: None,
                        });
                        p.metric = Some(s.to_string());
                    })
                    .is_some(),
                "grant.dirs" => {
                    strings(value).map(|dirs| grants.dirs.extend(dirs.iter().map(|d| parse_dir_grant(d)))).is_some()
                }
                "grant.env" => strings(value).map(|names| grants.env.extend(names)).is_some(),
                "binary" => true, // read by WasmBolt/WasmSpout on the Java side
                _ => {
                    warnings.push(format!("unknown conf key storm.wasm.{key} (ignored)"));
                    continue;
                }
            };
            if !ok {
                warnings.push(format!("conf key storm.wasm.{key} has the wrong type ({value}); keeping the default"));
            }
        }
        if self.poison.as_ref().is_some_and(|p| p.after == 0) {
            self.poison = None;
        }
        warnings
    }
}

/// The grants of the command line.
pub fn grants_from_args(args: &SandboxArgs) -> Grants {
    Grants { dirs: args.grant_dir.iter().map(|d| parse_dir_grant(d)).collect(), env: args.grant_env.clone() }
}

/// `host` mounts at the same path in the guest; `host:guest` elsewhere.
fn parse_dir_grant(spec: &str) -> (PathBuf, String) {
    match spec.split_once(':') {
        Some((host, guest)) => (PathBuf::from(host), guest.to_string()),
        None => (PathBuf::from(spec), spec.to_string()),
    }
}

/// A list of strings, or one string holding a comma-separated list.
fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_string)).collect(),
        Value::String(_) => {
            Some(value.as_str()?.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
        }
        _ => None,
    }
}

fn mib(n: u64) -> usize {
    (n as usize).saturating_mul(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn defaults() -> Limits {
        let cli = crate::cli::Cli::parse_from(["storm-wasm", "bolt", "x.wasm"]);
        let crate::cli::Command::Bolt(args) = cli.command else { unreachable!() };
        Limits::from_args(&args.sandbox)
    }

    fn conf(pairs: &[(&str, Value)]) -> Value {
        Value::Map(pairs.iter().map(|(k, v)| (Value::from(*k), v.clone())).collect())
    }

    #[test]
    fn conf_overrides_flags_and_bad_types_are_reported() {
        let mut limits = defaults();
        let mut grants = Grants::default();
        let warnings = limits.apply_conf(
            &conf(&[
                ("storm.wasm.max.memory.mb", Value::from(64)),
                ("storm.wasm.deadline.ms", Value::from(250)),
                ("storm.wasm.max.batch", Value::from("lots")),
                ("storm.wasm.poison.after", Value::from(2)),
                ("storm.wasm.grant.env", Value::Array(vec!["TZ".into(), "LANG".into()])),
                ("storm.wasm.grant.dirs", Value::from("/etc/ssl:/ssl, /usr/share/dict")),
                ("storm.wasm.typo", Value::from(1)),
                ("topology.name", Value::from("t")),
            ]),
            &mut grants,
        );
        assert_eq!(limits.max_memory, 64 << 20);
        assert_eq!(limits.deadline, Duration::from_millis(250));
        assert_eq!(limits.max_batch, defaults().max_batch);
        assert_eq!(limits.poison, Some(Poison { after: 2, stream: "dead_letter".into(), metric: None }));
        assert_eq!(grants.env, vec!["TZ".to_string(), "LANG".to_string()]);
        assert_eq!(
            grants.dirs,
            vec![
                (PathBuf::from("/etc/ssl"), "/ssl".to_string()),
                (PathBuf::from("/usr/share/dict"), "/usr/share/dict".into())
            ]
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("storm.wasm.max.batch has the wrong type"));
        assert!(warnings[1].contains("unknown conf key storm.wasm.typo"));
    }

    #[test]
    fn the_deadline_grows_with_the_batch() {
        let limits = defaults();
        assert_eq!(limits.call_deadline(0), limits.deadline);
        assert_eq!(limits.call_deadline(10), limits.deadline + limits.deadline_per_tuple * 10);
    }
}
