//! The benchmark suite (`storm-driver suite`, run by `bench/run.sh`): every
//! bolt scenario against storm-wasm, pystorm and a native Rust child, in one
//! process. Scenarios run in interleaved rounds (the order reversed every
//! other round) and each reports its median, so the ratios compare runs
//! made side by side under the same background load: this machine is
//! shared and absolute numbers drift between minutes.
//!
//! The results go to one JSON file; `bench/report.py` turns it into the
//! table and the plot in `docs/benchmarks/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use storm_multilang::Serializer;

use crate::coldstart;
use crate::driver::{run_bolt, BoltLoad, BoltReport};

/// Where everything is.
#[derive(Clone, Debug)]
pub struct Options {
    /// The storm-wasm binary.
    pub host: PathBuf,
    /// Where the plugins are (`target/plugins`).
    pub plugins: PathBuf,
    /// The Python of the bench virtualenv, with pystorm; no pystorm rows without it.
    pub python: Option<PathBuf>,
    /// `bench/pystorm/bolts.py`.
    pub pystorm_bolts: PathBuf,
    /// This program, whose `native-bolt` is the driver's ceiling.
    pub driver: PathBuf,
    /// The compile cache for the throughput runs (kept between suites).
    pub cache: PathBuf,
    /// Rounds over all scenarios (the median is reported).
    pub rounds: usize,
    /// Tuple counts are multiplied by this (below 1 for a quick look).
    pub scale: f64,
    /// Skip the cold-start measurements.
    pub no_coldstart: bool,
}

/// The bolt logic every runtime implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bolt {
    /// Emits its input as is.
    Passthrough,
    /// A sentence in, a tuple per word out.
    SplitSentence,
    /// A word in, (word, count so far) out.
    WordCount,
    /// A JSON event in, (action, is_bot, user) out.
    JsonFields,
}

impl Bolt {
    /// All of them, in table order.
    pub const ALL: [Bolt; 4] = [Bolt::Passthrough, Bolt::SplitSentence, Bolt::WordCount, Bolt::JsonFields];

    /// The plugin (and pystorm bolt) name.
    pub fn name(self) -> &'static str {
        match self {
            Bolt::Passthrough => "passthrough",
            Bolt::SplitSentence => "split_sentence",
            Bolt::WordCount => "word_count",
            Bolt::JsonFields => "json_fields",
        }
    }

    /// The input tuples, cycled.
    pub fn values(self) -> Vec<Vec<u8>> {
        let tuples: Vec<Value> = match self {
            Bolt::Passthrough => vec![json!(["snow white and the seven dwarfs", 42])],
            Bolt::SplitSentence => {
                ["the cow jumped over the moon", "an apple a day keeps the doctor away", "i am at two with nature"]
                    .iter()
                    .map(|s| json!([s]))
                    .collect()
            }
            Bolt::WordCount => {
                ["the", "cow", "jumped", "over", "moon", "apple", "day", "keeps", "doctor", "away", "nature"]
                    .iter()
                    .map(|w| json!([w]))
                    .collect()
            }
            Bolt::JsonFields => [
                r#"{"action":"edit","is_bot":false,"user":"Ada","title":"Analytical Engine","delta":42}"#,
                r#"{"action":"create","is_bot":true,"user":"ClueBot","title":"Difference engine","delta":-3}"#,
                r#"{"action":"edit","is_bot":false,"title":"Note G","delta":7}"#,
            ]
            .iter()
            .map(|e| json!([e]))
            .collect(),
        };
        tuples.iter().map(crate::msgpack).collect()
    }

    /// Tuples per run for a Rust plugin: about a second each on the
    /// 2-core machine the suite was tuned on. Python runs get a fifteenth.
    fn tuples(self) -> usize {
        match self {
            Bolt::Passthrough | Bolt::WordCount => 300_000,
            Bolt::SplitSentence => 100_000,
            Bolt::JsonFields => 200_000,
        }
    }
}

/// One row of the throughput table.
struct Scenario {
    runtime: &'static str,
    /// `rust`, `python` or `native`: the language of the bolt's logic.
    lang: &'static str,
    bolt: Bolt,
    serializer: Serializer,
    /// storm-wasm's `--max-batch`, when set.
    max_batch: Option<usize>,
    /// Whether the sandbox's CPU deadlines are on (storm-wasm's default); the
    /// `--no-deadlines` rows measure what they cost.
    deadlines: bool,
    command: Vec<String>,
    tuples: usize,
    runs: Vec<BoltReport>,
}

fn ser_name(s: Serializer) -> &'static str {
    match s {
        Serializer::Json => "json",
        Serializer::MessagePack => "msgpack",
    }
}

/// storm-wasm's flag that turns the epoch deadlines off.
const NO_DEADLINES: &str = "--no-deadlines";

fn scenarios(o: &Options) -> Vec<Scenario> {
    let scaled = |n: usize| ((n as f64 * o.scale) as usize).max(2_000);
    let host = o.host.display().to_string();
    let cache = o.cache.display().to_string();
    let storm_wasm = |plugin: &Path, s: Serializer, batch: Option<usize>| {
        let mut c = vec![host.clone(), "bolt".into(), plugin.display().to_string()];
        c.extend(["--serializer".into(), ser_name(s).into(), "--cache-dir".into(), cache.clone()]);
        c.extend(batch.map(|b| format!("--max-batch={b}")));
        c
    };
    let mut out = Vec::new();
    let mut add = |runtime, lang, bolt: Bolt, serializer, max_batch, command: Vec<String>, tuples| {
        let deadlines = !command.iter().any(|a| a == NO_DEADLINES);
        out.push(Scenario { runtime, lang, bolt, serializer, max_batch, deadlines, command, tuples, runs: Vec::new() })
    };
    for s in [Serializer::Json, Serializer::MessagePack] {
        let native =
            vec![o.driver.display().to_string(), "native-bolt".into(), "--serializer".into(), ser_name(s).into()];
        add("native", "native", Bolt::Passthrough, s, None, native, scaled(2 * Bolt::Passthrough.tuples()));
        for bolt in Bolt::ALL {
            let plugin = o.plugins.join(format!("{}.wasm", bolt.name()));
            add("storm-wasm", "rust", bolt, s, None, storm_wasm(&plugin, s, None), scaled(bolt.tuples()));
            let py_plugin = o.plugins.join(format!("py_{}.wasm", bolt.name()));
            if py_plugin.exists() {
                add("storm-wasm", "python", bolt, s, None, storm_wasm(&py_plugin, s, None), scaled(bolt.tuples() / 15));
            }
            if let Some(python) = &o.python {
                let c = vec![
                    python.display().to_string(),
                    o.pystorm_bolts.display().to_string(),
                    bolt.name().into(),
                    ser_name(s).into(),
                ];
                add("pystorm", "python", bolt, s, None, c, scaled(bolt.tuples() / 15));
            }
        }
        let plugin = o.plugins.join("passthrough.wasm");
        for batch in [1, 16] {
            let c = storm_wasm(&plugin, s, Some(batch));
            add("storm-wasm", "rust", Bolt::Passthrough, s, Some(batch), c, scaled(Bolt::Passthrough.tuples() / 2));
        }
        // Sandbox limits off, beside the default row. Only the CPU deadlines
        // can be switched off: the memory cap is a limiter consulted on
        // memory.grow only, and the per-call byte/emit budgets are two
        // counters (no flag turns them off).
        let mut c = storm_wasm(&plugin, s, None);
        c.push(NO_DEADLINES.into());
        add("storm-wasm", "rust", Bolt::Passthrough, s, None, c, scaled(Bolt::Passthrough.tuples()));
    }
    out
}

/// Runs the suite; returns the results and whether every run was clean.
pub fn run(o: &Options) -> (Value, bool) {
    let started = SystemTime::now();
    let load_before = loadavg();
    let mut all_ok = true;
    let mut scenarios = scenarios(o);
    // Compile the plugins first so no throughput run pays for it (a Python
    // plugin takes ~20 s here; the cache keeps them for the next suite).
    let mut plugins: Vec<(&str, bool)> = scenarios
        .iter()
        .filter(|s| s.runtime == "storm-wasm")
        .filter_map(|s| s.command.get(2).map(|p| (p.as_str(), s.deadlines)))
        .collect();
    plugins.sort_unstable();
    plugins.dedup();
    for (plugin, deadlines) in plugins {
        // Code compiled without deadlines is another cache entry.
        let compiled = if deadlines {
            coldstart::compile(&o.host, Path::new(plugin), &o.cache).map(drop)
        } else {
            compile_no_deadlines(&o.host, Path::new(plugin), &o.cache)
        };
        if let Err(e) = compiled {
            eprintln!("suite: {plugin}: {e}");
            all_ok = false;
        }
    }
    for round in 0..o.rounds {
        let order: Vec<usize> =
            if round % 2 == 0 { (0..scenarios.len()).collect() } else { (0..scenarios.len()).rev().collect() };
        for i in order {
            let sc = &mut scenarios[i];
            let mut load = BoltLoad::command(sc.command.clone(), sc.serializer, sc.tuples, sc.bolt.values());
            load.expect_clean_exit = sc.runtime != "pystorm"; // pystorm exits 1 when Storm goes away
            let r = run_bolt(&load);
            let ok = r.problems.is_empty() && r.acked == r.tuples;
            all_ok &= ok;
            eprintln!(
                "suite: round {}/{} {:<10} {:<6} {:<14} {:<7} {:>6} batch{}: {:>9.0} tuples/s, child {:>6.2} µs/tuple, driver {:>5.2}{}",
                round + 1,
                o.rounds,
                sc.runtime,
                sc.lang,
                sc.bolt.name(),
                ser_name(sc.serializer),
                sc.max_batch.map_or("-".into(), |b| b.to_string()),
                if sc.deadlines { "" } else { ", no deadlines" },
                r.throughput(),
                r.cpu_us_per_tuple().unwrap_or(f64::NAN),
                r.driver_cpu_us_per_tuple().unwrap_or(f64::NAN),
                if ok { String::new() } else { format!("  PROBLEMS: {:?}", r.problems) },
            );
            sc.runs.push(r);
        }
    }
    let rows: Vec<Value> = scenarios.iter().map(row).collect();
    let swap = swaps(o, &mut all_ok);
    let coldstart = if o.no_coldstart { Vec::new() } else { coldstarts(o, &mut all_ok) };
    let results = json!({
        "date_unix": started.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "duration_s": started.elapsed().map(|d| d.as_secs_f64()).unwrap_or(0.0),
        "machine": machine(),
        "load_before": load_before,
        "load_after": loadavg(),
        "rounds": o.rounds,
        "scale": o.scale,
        "max_pending": 100,
        "rows": rows,
        "swap": swap,
        "coldstart": coldstart,
    });
    (results, all_ok)
}

/// The median run of a scenario (by throughput) and the spread of all.
fn row(sc: &Scenario) -> Value {
    let mut by_rate: Vec<&BoltReport> = sc.runs.iter().collect();
    by_rate.sort_by(|a, b| a.throughput().total_cmp(&b.throughput()));
    let m = by_rate[by_rate.len() / 2];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let problems: Vec<&String> = sc.runs.iter().flat_map(|r| &r.problems).collect();
    json!({
        "runtime": sc.runtime,
        "lang": sc.lang,
        "bolt": sc.bolt.name(),
        "serializer": ser_name(sc.serializer),
        "max_batch": sc.max_batch,
        "deadlines": sc.deadlines,
        "command": sc.command.join(" "),
        "tuples": sc.tuples,
        "throughput": m.throughput(),
        "throughput_runs": sc.runs.iter().map(BoltReport::throughput).collect::<Vec<_>>(),
        "child_cpu_us": m.cpu_us_per_tuple(),
        "driver_cpu_us": m.driver_cpu_us_per_tuple(),
        "p50_us": us(m.latency(50.0)),
        "p99_us": us(m.latency(99.0)),
        "rss_mib": m.rss_bytes.map(|b| b as f64 / (1 << 20) as f64),
        "emitted_per_tuple": m.emitted as f64 / m.tuples.max(1) as f64,
        "ok": problems.is_empty() && sc.runs.iter().all(|r| r.acked == r.tuples),
        "problems": problems.iter().take(5).collect::<Vec<_>>(),
    })
}

/// One line on a swap run: latency percentiles and the longest ack gaps
/// around the swaps against those of steady windows.
pub fn swap_summary(s: Serializer, r: &crate::swap_latency::SwapReport) -> String {
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    let pct = |v: &[Duration], p: f64| {
        let mut v = v.to_vec();
        v.sort();
        v.get(((p / 100.0) * (v.len().max(1) - 1) as f64).round() as usize).map(ms).unwrap_or(f64::NAN)
    };
    format!(
        "swap latency {}: p50 {:.1} ms, p99 {:.1} ms over {} swaps; longest ack gap per swap p50 {:.2} ms, max {:.2} ms (steady windows p50 {:.2} ms, max {:.2} ms)",
        ser_name(s),
        pct(&r.latencies, 50.0),
        pct(&r.latencies, 99.0),
        r.latencies.len(),
        pct(&r.swap_max_gaps, 50.0),
        pct(&r.swap_max_gaps, 100.0),
        pct(&r.steady_window_max_gaps, 50.0),
        pct(&r.steady_window_max_gaps, 100.0),
    )
}

/// Hot-swap latency under load, per serializer (when the swap_counter
/// plugins are built).
fn swaps(o: &Options, all_ok: &mut bool) -> Vec<Value> {
    if !o.plugins.join("swap_counter_v2.wasm").exists() {
        return Vec::new();
    }
    let swaps = ((30.0 * o.scale.min(1.0)) as usize).max(5);
    let mut out = Vec::new();
    for s in [Serializer::Json, Serializer::MessagePack] {
        match crate::swap_latency::measure(&o.host, &o.plugins, &o.cache, s, swaps) {
            Ok(r) => {
                let ms = |d: &Duration| d.as_secs_f64() * 1e3;
                let mut v = r.latencies.clone();
                v.sort();
                let mut gaps = r.swap_max_gaps.clone();
                gaps.sort();
                let mut lost = r.swap_lost.clone();
                lost.sort();
                let pct = |v: &[Duration], p: f64| {
                    v.get(((p / 100.0) * (v.len().max(1) - 1) as f64).round() as usize).map(ms)
                };
                eprintln!("suite: {}", swap_summary(s, &r));
                out.push(json!({
                    "serializer": ser_name(s), "swaps": v.len(),
                    "p50_ms": pct(&v, 50.0), "p99_ms": pct(&v, 99.0), "max_ms": pct(&v, 100.0),
                    "samples_ms": v.iter().map(ms).collect::<Vec<_>>(),
                    "steady": {
                        "gap_p50_ms": pct(&r.steady_gaps, 50.0), "gap_p99_ms": pct(&r.steady_gaps, 99.0),
                        "gap_max_ms": pct(&r.steady_gaps, 100.0), "gaps": r.steady_gaps.len(),
                        "acks_per_s": r.steady_rate, "acks_per_read": r.steady_acks_per_read,
                        // A read's worth of acks (about one batch) at the steady rate.
                        "batch_ms": r.steady_acks_per_read / r.steady_rate.max(1e-9) * 1e3,
                        "window_max_gap": {
                            "windows": r.steady_window_max_gaps.len(),
                            "p50_ms": pct(&r.steady_window_max_gaps, 50.0),
                            "max_ms": pct(&r.steady_window_max_gaps, 100.0),
                        },
                        "window_lost": {
                            "p50_ms": pct(&r.steady_window_lost, 50.0),
                            "max_ms": pct(&r.steady_window_lost, 100.0),
                        },
                    },
                    "swap_gap": {
                        "p50_ms": pct(&gaps, 50.0), "p99_ms": pct(&gaps, 99.0), "max_ms": pct(&gaps, 100.0),
                        "samples_ms": r.swap_max_gaps.iter().map(ms).collect::<Vec<_>>(),
                    },
                    "swap_lost": {
                        "between_acks_per_s": r.between_rate,
                        "p50_ms": pct(&lost, 50.0), "max_ms": pct(&lost, 100.0),
                        "samples_ms": r.swap_lost.iter().map(ms).collect::<Vec<_>>(),
                    },
                }));
            }
            Err(e) => {
                *all_ok = false;
                eprintln!("suite: swap latency {}: {e}", ser_name(s));
                out.push(json!({"serializer": ser_name(s), "error": e}));
            }
        }
    }
    out
}

/// Compile times and process start → first ack, with an empty and a warm
/// compile cache (median of three; one for the slow Python compiles).
fn coldstarts(o: &Options, all_ok: &mut bool) -> Vec<Value> {
    let tmp = std::env::temp_dir().join(format!("storm-bench-coldstart-{}", std::process::id()));
    let fresh = |n: &str| {
        let dir = tmp.join(n);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        dir
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut out = Vec::new();
    let mut record =
        |runtime: &str, plugin: &str, what: &str, cache: &str, samples: Vec<Result<(f64, Option<u64>), String>>| {
            let mut v: Vec<f64> = samples.iter().filter_map(|s| s.as_ref().ok().map(|s| s.0)).collect();
            v.sort_by(f64::total_cmp);
            let errors: Vec<&String> = samples.iter().filter_map(|s| s.as_ref().err()).collect();
            *all_ok &= errors.is_empty();
            let rss = samples.iter().filter_map(|s| s.as_ref().ok().and_then(|s| s.1)).max();
            eprintln!("suite: cold start {runtime} {plugin} {what} ({cache} cache): {v:.0?} ms {errors:?}");
            out.push(json!({
                "runtime": runtime, "plugin": plugin, "what": what, "cache": cache,
                "median_ms": v.get(v.len() / 2), "samples_ms": v,
                "rss_mib": rss.map(|b| b as f64 / (1 << 20) as f64),
                "errors": errors,
            }));
        };
    let host = o.host.display().to_string();
    let bolt_cmd = |plugin: &Path, cache: &Path| {
        vec![
            host.clone(),
            "bolt".into(),
            plugin.display().to_string(),
            "--serializer".into(),
            "json".into(),
            "--cache-dir".into(),
            cache.display().to_string(),
        ]
    };
    let first_ack = |command: &[String], bolt: Bolt| {
        coldstart::first_ack(command, Serializer::Json, &bolt.values()[0]).map(|f| (ms(f.to_first_ack), f.rss_bytes))
    };
    let mut plugins: Vec<(&str, Bolt, String)> = Bolt::ALL.iter().map(|b| ("rust", *b, b.name().to_string())).collect();
    if o.plugins.join("py_passthrough.wasm").exists() {
        plugins.push(("python", Bolt::Passthrough, "py_passthrough".into()));
    }
    for (lang, bolt, name) in &plugins {
        let plugin = o.plugins.join(format!("{name}.wasm"));
        // A Python component is ~20 MB of CPython to compile: once is plenty.
        let reps = if *lang == "python" { 1 } else { 3 };
        let (mut empty, mut warm, mut ack_empty, mut ack_warm) = (vec![], vec![], vec![], vec![]);
        for rep in 0..reps {
            let dir = fresh(&format!("{name}-{rep}"));
            empty.push(coldstart::compile(&o.host, &plugin, &dir).map(|d| (ms(d), None)));
            warm.push(coldstart::compile(&o.host, &plugin, &dir).map(|d| (ms(d), None)));
            ack_empty.push(first_ack(&bolt_cmd(&plugin, &fresh(&format!("{name}-ack-{rep}"))), *bolt));
        }
        for _ in 0..3 {
            ack_warm.push(first_ack(&bolt_cmd(&plugin, &o.cache), *bolt));
        }
        let rt = if *lang == "python" { "storm-wasm (Python plugin)" } else { "storm-wasm" };
        record(rt, name, "compile", "empty", empty);
        record(rt, name, "compile", "warm", warm);
        record(rt, name, "start to first ack", "empty", ack_empty);
        record(rt, name, "start to first ack", "warm", ack_warm);
    }
    if let Some(python) = &o.python {
        // pystorm has nothing to compile: its start is the interpreter's.
        let bolt = Bolt::Passthrough;
        let c = vec![
            python.display().to_string(),
            o.pystorm_bolts.display().to_string(),
            bolt.name().into(),
            "json".into(),
        ];
        let samples = (0..3).map(|_| first_ack(&c, bolt)).collect();
        record("pystorm", bolt.name(), "start to first ack", "n/a", samples);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    out
}

/// `storm-wasm compile --no-deadlines`: fills the cache entry of tasks that
/// run without deadlines.
fn compile_no_deadlines(host: &Path, plugin: &Path, cache: &Path) -> Result<(), String> {
    let out = std::process::Command::new(host)
        .arg("compile")
        .arg(plugin)
        .arg(NO_DEADLINES)
        .arg("--cache-dir")
        .arg(cache)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", host.display()))?;
    if !out.status.success() {
        return Err(format!("compile {NO_DEADLINES} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model =
        cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|l| l.trim_start_matches([' ', '\t', ':']));
    let mem = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
    });
    json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "memory_gib": mem.map(|kb| (kb as f64 / (1 << 20) as f64 * 10.0).round() / 10.0),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
    })
}
