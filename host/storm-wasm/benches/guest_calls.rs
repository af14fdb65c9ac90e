//! Micro-benchmarks of the host↔guest call path: one `execute` call into a
//! real plugin component (the pass-through bolt of `target/plugins`) with a
//! batch of 1, 16 or 128 tuples, set up the way a bolt task sets up its
//! store (the same engine config, memory limiter, epoch deadline per call
//! with the epoch ticker running, WASI sandbox, `TaskIo` staging emits and
//! acks into an `Output`). The pipe is left out: the output goes to
//! `io::sink()`, so this is what a tuple costs across the boundary and in
//! the host's own bookkeeping, without Storm or the kernel.
//!
//! Per iteration, as `task/bolt.rs` does per batch: mark the ids in flight,
//! begin a staged call, set the deadline, `execute`, drain the plugin's
//! stdio, commit the staged emits, ack every `Ok` outcome, flush.
//!
//!     cargo bench -p storm-wasm --bench guest_calls
//!
//! The plugins come from `$STORM_WASM_PLUGINS`, else `target/plugins` at the
//! repository root (`scripts/build-plugins.sh` puts them there).

use std::hint::black_box;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use storm_multilang::{Outgoing, Serializer};
use storm_wasm::bindings::bolt::Bolt;
use storm_wasm::bindings::{Context, Input, Outcome};
use storm_wasm::cli::{CacheArgs, SandboxArgs};
use storm_wasm::engine::{self, deadline_ticks, Prepared, World};
use storm_wasm::limits::{Grants, Limits};
use storm_wasm::output::Output;
use storm_wasm::sandbox;
use storm_wasm::state::{HostState, TaskIo};
use wasmtime::Store;

const BATCHES: [usize; 3] = [1, 16, 128];

/// The command line's defaults, parsed the way `storm-wasm bolt` parses them.
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    sandbox: SandboxArgs,
}

fn plugins_dir() -> PathBuf {
    std::env::var_os("STORM_WASM_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins"))
}

/// A prepared bolt instance in a store set up like a task's.
struct Task {
    store: Store<HostState>,
    bolt: Bolt,
    limits: Arc<Limits>,
    // Keeps the engine (and so the epoch ticker) alive.
    _engine: wasmtime::Engine,
}

fn task(plugin: &str, serializer: Serializer, deadlines: bool) -> Task {
    let mut args = Defaults::parse_from(["bench"]).sandbox;
    args.no_deadlines = !deadlines;
    let limits = Arc::new(Limits::from_args(&args));
    let engine = engine::new_engine(limits.max_stack, limits.deadlines).expect("wasmtime configures");
    if limits.deadlines {
        engine::start_epoch_ticker(&engine);
    }
    let path = plugins_dir().join(format!("{plugin}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-plugins.sh, or set STORM_WASM_PLUGINS to the plugins directory",
        path.display()
    );
    let cache = CacheArgs { cache_dir: None, no_cache: true };
    let loaded = engine::load::<HostState>(&engine, &path, World::Bolt, &cache).expect("the plugin loads");
    let Prepared::Bolt(pre) = &*loaded.prepared else { panic!("{plugin} is not a bolt") };

    let output = Arc::new(Output::new(io::sink(), serializer));
    let io = TaskIo::detached(output, loaded.name.clone(), limits.clone());
    let wasi = sandbox::wasi_ctx(&Grants::default(), &io.stdout, &io.stderr).expect("an empty sandbox");
    let mut store = Store::new(&engine, HostState::new(io, wasi));
    store.limiter(|s| &mut s.memory);
    store.set_epoch_deadline(deadline_ticks(limits.start_deadline));
    let bolt = pre.instantiate(&mut store).expect("the plugin instantiates");
    let conf = [0x80u8]; // an empty MessagePack map
    let context = Context { task_id: 3, component_id: "bench".into(), raw: vec![0x80] };
    bolt.storm_plugin_bolt_guest()
        .call_prepare(&mut store, &conf, &context)
        .expect("prepare does not trap")
        .expect("prepare succeeds");
    Task { store, bolt, limits, _engine: engine }
}

/// `n` tuples as a bolt receives them from Storm: Storm-shaped ids and the
/// suite's pass-through values `["snow white and the seven dwarfs", 42]`.
fn batch(n: usize) -> Vec<Input> {
    let text = b"snow white and the seven dwarfs";
    let mut values = vec![0x92, 0xa0 | text.len() as u8];
    values.extend_from_slice(text);
    values.push(42);
    (0..n)
        .map(|i| Input {
            id: format!("-69557865374133{:05}", i),
            source_component: "spout".into(),
            source_task: 7,
            stream_id: "default".into(),
            values: values.clone(),
        })
        .collect()
}

impl Task {
    /// One batch, as the bolt loop runs it (minus the trap path).
    fn execute(&mut self, batch: &[Input]) -> usize {
        let io = &mut self.store.data_mut().io;
        for input in batch {
            io.in_flight.insert(input.id.clone());
        }
        io.begin_call(true);
        self.store.set_epoch_deadline(deadline_ticks(self.limits.call_deadline(batch.len())));
        let outcomes = self.bolt.storm_plugin_bolt_guest().call_execute(&mut self.store, batch).expect("no trap");
        let io = &mut self.store.data_mut().io;
        io.drain_stdio(false);
        io.commit_call();
        let mut acked = 0;
        for (input, outcome) in batch.iter().zip(outcomes) {
            if matches!(outcome, Outcome::Ack) && io.in_flight.remove(&input.id) {
                io.output.send(&Outgoing::Ack(&input.id)).expect("a sink takes anything");
                acked += 1;
            }
        }
        io.output.flush().expect("a sink takes anything");
        assert_eq!(acked, batch.len(), "the pass-through acks every tuple");
        acked
    }
}

fn execute(c: &mut Criterion) {
    let cases = [
        ("execute passthrough, MessagePack", Serializer::MessagePack, true),
        ("execute passthrough, JSON", Serializer::Json, true),
        ("execute passthrough, MessagePack, deadlines off", Serializer::MessagePack, false),
    ];
    for (group, serializer, deadlines) in cases {
        let mut task = task("passthrough", serializer, deadlines);
        let mut g = c.benchmark_group(group);
        for n in BATCHES {
            let inputs = batch(n);
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(format!("batch {n}"), |b| b.iter(|| task.execute(black_box(&inputs))));
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    // The machine is shared: shorter windows, more of them, keep a run near a minute.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = execute
}
criterion_main!(benches);
