//! The compiled-component cache, shared by every storm-wasm process on a
//! machine (a worker runs one process per task).
//!
//! A key is the SHA-256 of the component plus a hash of the engine's
//! compatibility (wasmtime version, target, every setting that affects code),
//! so a cache survives upgrades without ever loading stale code. Entries are
//! written to a temporary file and renamed into place, under a per-key lock
//! so concurrent tasks compile once; an existing entry is never rewritten,
//! because wasmtime maps it lazily.
//!
//! Loading compiled code trusts the file, so the directory is created
//! private to the user (0700).

use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::cli::CacheArgs;

/// How a component was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Loaded from the cache.
    Cached,
    /// Compiled now and stored.
    Compiled,
    /// Compiled now, not stored (cache off or not writable).
    CompiledUncached,
}

/// The cache directory.
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// The cache of `args`, or `None` when it is turned off or cannot be
    /// created (then every start compiles; a warning says why).
    pub fn open(args: &CacheArgs) -> Option<Self> {
        if args.no_cache {
            return None;
        }
        let dir = args.cache_dir.clone().unwrap_or_else(default_dir);
        match create_private_dir(&dir) {
            Ok(()) => Some(CompileCache { dir }),
            Err(e) => {
                tracing::warn!("compile cache {} is not usable, compiling in memory: {e:#}", dir.display());
                None
            }
        }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The component for `wasm` (whose [`digest`] is `digest`), from the
    /// cache or compiled into it.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8], digest: &str) -> Result<(Component, Source)> {
        let key = key(engine, digest);
        let path = self.dir.join(format!("{key}.cwasm"));
        if let Some(c) = self.try_load(engine, &path) {
            return Ok((c, Source::Cached));
        }
        let lock_path = self.dir.join(format!("{key}.lock"));
        let lock = File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
        lock.lock().with_context(|| format!("cannot lock {}", lock_path.display()))?;
        // Another task may have compiled it while we waited for the lock.
        if let Some(c) = self.try_load(engine, &path) {
            return Ok((c, Source::Cached));
        }
        let started = Instant::now();
        let compiled = engine.precompile_component(wasm)?;
        let tmp = self.dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let write = (|| -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&compiled)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = write {
            let _ = fs::remove_file(&tmp);
            tracing::warn!("cannot store the compiled plugin in {}: {e}", self.dir.display());
            // SAFETY: `compiled` was produced by this engine just now.
            let c = unsafe { Component::deserialize(engine, &compiled) }?;
            return Ok((c, Source::CompiledUncached));
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compiled the plugin into {}",
            path.display()
        );
        // SAFETY: the file was written by this engine and is never rewritten.
        let c = unsafe { Component::deserialize_file(engine, &path) }?;
        Ok((c, Source::Compiled))
    }

    fn try_load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        if !path.exists() {
            return None;
        }
        // SAFETY: only files this cache wrote (private directory, renamed
        // into place whole) are loaded; wasmtime rejects other versions.
        match unsafe { Component::deserialize_file(engine, path) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("discarding unusable cache entry {}: {e}", path.display());
                let _ = fs::remove_file(path);
                None
            }
        }
    }
}

fn key(engine: &Engine, digest: &str) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{digest}-{:016x}", h.finish())
}

/// The hex SHA-256 of a plugin. Computed once per file: a Python plugin is
/// 20 MB, and hashing it takes tens of milliseconds.
pub fn digest(wasm: &[u8]) -> String {
    Sha256::digest(wasm).iter().map(|b| format!("{b:02x}")).collect()
}

fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("storm-wasm");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache").join("storm-wasm");
    }
    std::env::temp_dir().join("storm-wasm")
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    // Probe writability now rather than after a long compile.
    let probe = dir.join(format!(".probe.{}", std::process::id()));
    File::create(&probe).with_context(|| format!("cannot write in {}", dir.display()))?;
    let _ = fs::remove_file(probe);
    Ok(())
}
