//! Plays Apache Storm against storm-wasm: `demo` runs the example topology
//! through the real binary; `bench` measures a bolt under load; `suite`
//! runs every benchmark scenario and writes the results (`bench/run.sh`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use storm_multilang::Serializer;
use storm_wasm_tests::driver::{run_bolt, BoltLoad};
use storm_wasm_tests::suite;

#[derive(Parser)]
#[command(name = "storm-driver", about = "Plays Apache Storm's side of multi-lang against storm-wasm")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Sentence spout → split → count through the real storm-wasm binary.
    Demo {
        /// Sentences to emit.
        #[arg(long, default_value_t = 25)]
        sentences: usize,
        #[arg(long, value_enum, default_value_t = Ser::Json)]
        serializer: Ser,
    },
    /// Tuples/s, latency and host CPU per tuple of a bolt, JSON and MessagePack.
    Bench {
        /// Tuples per run.
        #[arg(long, default_value_t = 200_000)]
        tuples: usize,
        /// Plugin to load (a name in target/plugins or a path).
        #[arg(long, default_value = "passthrough")]
        plugin: String,
        /// Tuples in flight (Storm's topology.shellbolt.max.pending).
        #[arg(long, default_value_t = 100)]
        max_pending: usize,
        /// Extra arguments for storm-wasm (e.g. --max-batch=1).
        #[arg(long, allow_hyphen_values = true)]
        host_arg: Vec<String>,
        /// Only this serializer (default: both).
        #[arg(long, value_enum)]
        serializer: Option<Ser>,
        /// Measure this multi-lang command instead of storm-wasm (e.g.
        /// `python3 bolt.py`; `{serializer}` is replaced by json or msgpack).
        #[arg(long)]
        command: Option<String>,
        /// A label for the first column (default: the plugin name).
        #[arg(long)]
        label: Option<String>,
    },
    /// Every benchmark scenario (storm-wasm, pystorm, the native child;
    /// batch sizes; cold start; memory), results as JSON.
    Suite {
        /// Where to write the results.
        #[arg(long)]
        out: PathBuf,
        /// The plugins (default: target/plugins).
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// A Python with pystorm installed (the bench virtualenv); without
        /// it the pystorm rows are left out.
        #[arg(long)]
        python: Option<PathBuf>,
        /// The pystorm bolts (default: bench/pystorm/bolts.py).
        #[arg(long)]
        pystorm_bolts: Option<PathBuf>,
        /// Compile cache for the throughput runs (default: target/bench-cache).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Rounds over all scenarios; each row is the median.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Multiply every tuple count (e.g. 0.1 for a quick look).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Leave out the cold-start measurements.
        #[arg(long)]
        no_coldstart: bool,
    },
    /// Hot-swap latency and the ack gaps around swaps, alone: a task runs
    /// swap_counter under load while its file is replaced again and again.
    Swap {
        #[arg(long, value_enum, default_value_t = Ser::Msgpack)]
        serializer: Ser,
        #[arg(long, default_value_t = 30)]
        swaps: usize,
        /// The plugins (default: target/plugins).
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// Compile cache (default: target/bench-cache).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
    /// A pass-through bolt with no wasm, straight on the protocol (the
    /// driver's ceiling when benchmarked with --command).
    NativeBolt {
        #[arg(long, value_enum, default_value_t = Ser::Json)]
        serializer: Ser,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Ser {
    Json,
    Msgpack,
}

impl From<Ser> for Serializer {
    fn from(s: Ser) -> Self {
        match s {
            Ser::Json => Serializer::Json,
            Ser::Msgpack => Serializer::MessagePack,
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Cmd::Demo { sentences, serializer } => {
            match storm_wasm_tests::demo::run(serializer.into(), sentences, &mut std::io::stdout()) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("demo failed: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Bench { tuples, plugin, max_pending, host_arg, serializer, command, label } => {
            let serializers = match serializer {
                Some(s) => vec![s.into()],
                None => vec![Serializer::Json, Serializer::MessagePack],
            };
            let label = label.unwrap_or_else(|| plugin.clone());
            bench(&Bench { tuples, plugin, max_pending, host_args: host_arg, command, label }, &serializers)
        }
        Cmd::Suite { out, plugins, python, pystorm_bolts, cache_dir, rounds, scale, no_coldstart } => {
            let root = storm_wasm_tests::repo_root();
            let options = suite::Options {
                host: storm_wasm_tests::host_binary(),
                plugins: plugins.unwrap_or_else(|| root.join("target/plugins")),
                python,
                pystorm_bolts: pystorm_bolts.unwrap_or_else(|| root.join("bench/pystorm/bolts.py")),
                driver: std::env::current_exe().expect("this program has a path"),
                cache: cache_dir.unwrap_or_else(|| root.join("target/bench-cache")),
                rounds: rounds.max(1),
                scale,
                no_coldstart,
            };
            let (results, ok) = suite::run(&options);
            let text = serde_json::to_string_pretty(&results).expect("JSON values serialize");
            if let Err(e) = std::fs::write(&out, text + "\n") {
                eprintln!("cannot write {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                eprintln!("suite: some runs had problems; see `problems` in {}", out.display());
                ExitCode::FAILURE
            }
        }
        Cmd::Swap { serializer, swaps, plugins, cache_dir } => {
            let root = storm_wasm_tests::repo_root();
            let plugins = plugins.unwrap_or_else(|| root.join("target/plugins"));
            let cache = cache_dir.unwrap_or_else(|| root.join("target/bench-cache"));
            let host = storm_wasm_tests::host_binary();
            match storm_wasm_tests::swap_latency::measure(&host, &plugins, &cache, serializer.into(), swaps) {
                Ok(report) => {
                    println!("{}", suite::swap_summary(serializer.into(), &report));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("swap: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::NativeBolt { serializer } => match storm_wasm_tests::native_bolt::run(serializer.into()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("native-bolt: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

struct Bench {
    tuples: usize,
    plugin: String,
    max_pending: usize,
    host_args: Vec<String>,
    command: Option<String>,
    label: String,
}

fn bench(b: &Bench, serializers: &[Serializer]) -> ExitCode {
    let values = vec![storm_wasm_tests::msgpack(&serde_json::json!(["snow white and the seven dwarfs", 42]))];
    println!(
        "| bolt | serializer | tuples | tuples/s | child CPU µs/tuple | driver CPU µs/tuple | p50 latency | p99 latency | RSS MiB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut ok = true;
    for &serializer in serializers {
        let ser = if serializer == Serializer::Json { "json" } else { "msgpack" };
        let mut load = match &b.command {
            Some(command) => BoltLoad::command(
                command.replace("{serializer}", ser).split_whitespace().map(str::to_string).collect(),
                serializer,
                b.tuples,
                values.clone(),
            ),
            None => {
                let path = if b.plugin.ends_with(".wasm") {
                    PathBuf::from(&b.plugin)
                } else {
                    storm_wasm_tests::plugin(&b.plugin)
                };
                BoltLoad::storm_wasm(path, serializer, b.tuples, values.clone())
            }
        };
        load.max_pending = b.max_pending;
        load.command.extend(b.host_args.iter().cloned());
        let r = run_bolt(&load);
        println!(
            "| {} | {serializer:?} | {} | {:.0} | {} | {} | {:.0} µs | {:.0} µs | {} |",
            b.label,
            r.tuples,
            r.throughput(),
            r.cpu_us_per_tuple().map_or("n/a".into(), |c| format!("{c:.2}")),
            r.driver_cpu_us_per_tuple().map_or("n/a".into(), |c| format!("{c:.2}")),
            r.latency(50.0).as_secs_f64() * 1e6,
            r.latency(99.0).as_secs_f64() * 1e6,
            r.rss_bytes.map_or("n/a".into(), |b| format!("{:.1}", b as f64 / (1 << 20) as f64)),
        );
        if !r.problems.is_empty() || r.acked != r.tuples {
            ok = false;
            eprintln!("{serializer:?}: acked {} of {}; problems: {:#?}", r.acked, r.tuples, r.problems);
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
