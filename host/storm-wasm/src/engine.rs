//! The wasmtime engine, and loading a plugin into it.
//!
//! Every storm-wasm process must build the same `Config`, or the compile
//! cache's compatibility hash differs and every task recompiles: it is built
//! in one place, here.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};
use wasmtime_wasi::WasiView;

use crate::bindings::{bolt, spout};
use crate::cache::{self, CompileCache, Source};
use crate::cli::{CacheArgs, CompileArgs};
use crate::state::HostState;

/// How often the epoch ticks: the granularity of CPU deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The engine every storm-wasm process uses. The stack size and whether
/// deadlines are on are part of the compiled code (and of the cache key).
pub fn new_engine(max_stack: usize, deadlines: bool) -> Result<Engine> {
    let mut config = Config::new();
    // No component-model async on the hot path: it makes every call do task
    // bookkeeping (measured 3-4x dearer per call with it on).
    config.concurrency_support(false);
    // Deadlines per call: a spinning plugin is interrupted, the host goes on.
    config.epoch_interruption(deadlines);
    config.max_wasm_stack(max_stack);
    Engine::new(&config).map_err(anyhow::Error::from).context("cannot configure wasmtime")
}

/// Increments the engine's epoch every [`EPOCH_TICK`] for as long as the
/// engine lives.
pub fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .expect("cannot start the epoch ticker thread");
}

/// Epoch ticks for a deadline.
pub fn deadline_ticks(deadline: Duration) -> u64 {
    (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// Which world a plugin implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    /// `storm:plugin/bolt`.
    Bolt,
    /// `storm:plugin/spout`.
    Spout,
}

/// A plugin compiled, type-checked against its world and ready to
/// instantiate (cheaply, as often as a trap requires). `T` is the data of
/// the stores it runs in: [`HostState`] under Storm, the native worker's own
/// state in local mode.
pub enum Prepared<T: 'static = HostState> {
    /// A bolt.
    Bolt(bolt::BoltPre<T>),
    /// A spout.
    Spout(spout::SpoutPre<T>),
}

/// What a store's data must provide for a plugin to link: WASI and every
/// storm:plugin import.
pub trait PluginHost:
    WasiView
    + bolt::storm::plugin::types::Host
    + bolt::storm::plugin::host::Host
    + bolt::storm::plugin::bolt_output::Host
    + spout::storm::plugin::spout_output::Host
    + 'static
{
}

impl<T> PluginHost for T where
    T: WasiView
        + bolt::storm::plugin::types::Host
        + bolt::storm::plugin::host::Host
        + bolt::storm::plugin::bolt_output::Host
        + spout::storm::plugin::spout_output::Host
        + 'static
{
}

/// A loaded plugin.
pub struct Plugin<T: 'static = HostState> {
    /// Its file name.
    pub name: String,
    /// The first bytes of its SHA-256, as logged.
    pub hash: String,
    /// Its whole SHA-256, hex.
    pub digest: String,
    /// Ready to instantiate.
    pub prepared: Arc<Prepared<T>>,
}

impl<T> Clone for Plugin<T> {
    fn clone(&self) -> Self {
        Plugin {
            name: self.name.clone(),
            hash: self.hash.clone(),
            digest: self.digest.clone(),
            prepared: self.prepared.clone(),
        }
    }
}

/// Reads, compiles (or loads from the cache) and links a plugin.
pub fn load<T: PluginHost>(engine: &Engine, path: &Path, world: World, cache: &CacheArgs) -> Result<Plugin<T>> {
    let wasm = read_component(path)?;
    load_wasm(engine, path, wasm, world, cache)
}

/// Compiles (or loads from the cache) and links the plugin `wasm`, read
/// from `path`.
pub fn load_wasm<T: PluginHost>(
    engine: &Engine,
    path: &Path,
    wasm: Vec<u8>,
    world: World,
    cache: &CacheArgs,
) -> Result<Plugin<T>> {
    let started = Instant::now();
    check_component(path, &wasm)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    let digest = cache::digest(&wasm);
    let hash = digest[..16].to_string();
    let (component, source) =
        compile(engine, &wasm, &digest, cache).with_context(|| format!("cannot compile {}", path.display()))?;
    let prepared = link::<T>(engine, &component, world).with_context(|| {
        format!(
            "{} does not fit the storm:plugin {world:?} world (is it a {}?)",
            path.display(),
            match world {
                World::Bolt => "spout",
                World::Spout => "bolt",
            }
        )
    })?;
    tracing::info!(plugin = %name, hash = %hash, ?source, load_ms = started.elapsed().as_millis() as u64, "plugin loaded");
    Ok(Plugin { name, hash, digest, prepared: Arc::new(prepared) })
}

fn compile(engine: &Engine, wasm: &[u8], digest: &str, cache: &CacheArgs) -> Result<(Component, Source)> {
    match CompileCache::open(cache) {
        Some(cache) => cache.load_or_compile(engine, wasm, digest),
        None => Ok((Component::new(engine, wasm)?, Source::CompiledUncached)),
    }
}

fn link<T: PluginHost>(engine: &Engine, component: &Component, world: World) -> Result<Prepared<T>> {
    let mut linker: Linker<T> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    Ok(match world {
        World::Bolt => {
            bolt::Bolt::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
            let pre = linker.instantiate_pre(component)?;
            Prepared::Bolt(bolt::BoltPre::new(pre)?)
        }
        World::Spout => {
            spout::Spout::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
            let pre = linker.instantiate_pre(component)?;
            Prepared::Spout(spout::SpoutPre::new(pre)?)
        }
    })
}

/// Drops an instance that a swap replaced on a thread of its own: freeing
/// its store (linear memory, tables, WASI context) took 50-150 µs per swap
/// in the swap benchmark, a third of the task's stall at the switch.
pub fn retire<T: Send + 'static>(old: T) {
    let spawned = std::thread::Builder::new().name("retired-instance".into()).spawn(move || drop(old));
    if let Err(e) = spawned {
        tracing::debug!("cannot start a thread to drop the replaced instance ({e}); it was dropped in place");
    }
}

/// Reads a file and checks that it is a component, with errors that say
/// what to do.
pub fn read_component(path: &Path) -> Result<Vec<u8>> {
    let wasm = std::fs::read(path).with_context(|| {
        let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        format!("cannot read the plugin {} (working directory: {cwd}); give an absolute path", path.display())
    })?;
    check_component(path, &wasm)?;
    Ok(wasm)
}

fn check_component(path: &Path, wasm: &[u8]) -> Result<()> {
    match wasm.get(0..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00]) => Ok(()),
        Some([0, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00]) => bail!(
            "{} is a core WebAssembly module, not a component: build the plugin with `--target wasm32-wasip2` (or wrap it with `wasm-tools component new`)",
            path.display()
        ),
        _ => bail!("{} is not a WebAssembly component (it does not start with the wasm magic bytes)", path.display()),
    }
}

/// `storm-wasm compile`: fills the cache and checks the world.
pub fn compile_only(args: &CompileArgs) -> Result<()> {
    let engine = new_engine((args.max_stack_kib as usize) << 10, !args.no_deadlines)?;
    let wasm = read_component(&args.plugin)?;
    let started = Instant::now();
    let (component, source) = compile(&engine, &wasm, &cache::digest(&wasm), &args.cache)?;
    let world = if link::<HostState>(&engine, &component, World::Bolt).is_ok() {
        "bolt"
    } else if link::<HostState>(&engine, &component, World::Spout).is_ok() {
        "spout"
    } else {
        link::<HostState>(&engine, &component, World::Bolt).context("it is neither a storm:plugin bolt nor a spout")?;
        unreachable!()
    };
    let dir =
        CompileCache::open(&args.cache).map(|c| c.dir().display().to_string()).unwrap_or_else(|| "(no cache)".into());
    println!("{}: a {world}, {:?} in {} ms, cache {dir}", args.plugin.display(), source, started.elapsed().as_millis());
    Ok(())
}
