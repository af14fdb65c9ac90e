//! What a plugin instance may use: memory (all its memories together), host
//! bytes and emits per call, log lines per second, and capabilities. By
//! default a plugin gets no files, no network, no environment and no stdin;
//! it may read clocks and random numbers. Grants add read-only directories
//! and named environment variables.

use std::time::{Duration, Instant};

use storm_multilang::msgpack;

use anyhow::{Context as _, Result};
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{FsPerms, WasiCtx};

use crate::limits::{Grants, Limits};
use crate::stdio::Capture;

/// Caps the instance's linear memory in total. (wasmtime's `StoreLimits`
/// caps each memory on its own, and a component can hold several.)
pub struct MemoryLimiter {
    cap: usize,
    used: usize,
    /// The most the instance held at once.
    pub peak: usize,
    /// Set when a grow was refused: the trap that usually follows is
    /// reported as a memory limit, not as a mystery.
    pub refused: bool,
}

impl MemoryLimiter {
    /// A limiter of `cap` bytes.
    pub fn new(cap: usize) -> Self {
        MemoryLimiter { cap, used: 0, peak: 0, refused: false }
    }

    /// The cap in bytes.
    pub fn cap(&self) -> usize {
        self.cap
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let next = self.used.saturating_sub(current).saturating_add(desired);
        if next > self.cap {
            // The guest sees memory.grow fail (an allocation error).
            self.refused = true;
            return Ok(false);
        }
        self.used = next;
        self.peak = self.peak.max(next);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }

    fn instances(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }
}

/// What one call into the plugin has handed the host so far.
#[derive(Default)]
pub struct CallBudget {
    bytes: usize,
    emits: usize,
}

impl CallBudget {
    /// A fresh budget, before each call.
    pub fn reset(&mut self) {
        *self = CallBudget::default();
    }

    /// Counts `bytes` handed over; an error when over the limit (the call
    /// then traps: the plugin is out of control, not merely wrong).
    pub fn spend(&mut self, limits: &Limits, bytes: usize, emit: bool) -> wasmtime::Result<()> {
        self.bytes = self.bytes.saturating_add(bytes);
        self.emits += usize::from(emit);
        if self.bytes > limits.max_host_bytes_per_call {
            wasmtime::bail!(
                "handed the host more than {} bytes in one call (storm.wasm.max.host.bytes.per.call)",
                limits.max_host_bytes_per_call
            );
        }
        if self.emits > limits.max_emits_per_call {
            wasmtime::bail!(
                "emitted more than {} tuples in one call (storm.wasm.max.emits.per.call)",
                limits.max_emits_per_call
            );
        }
        Ok(())
    }
}

/// A token bucket for log lines: `rate` per second, bursts up to `rate`.
pub struct LogRate {
    rate: f64,
    tokens: f64,
    last: Instant,
    /// Lines dropped since the last report.
    pub dropped: u64,
}

impl LogRate {
    /// `per_sec` lines per second.
    pub fn new(per_sec: u32) -> Self {
        LogRate { rate: per_sec as f64, tokens: per_sec as f64, last: Instant::now(), dropped: 0 }
    }

    /// Whether one more line may pass now.
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.rate.max(1.0));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.dropped += 1;
            false
        }
    }
}

/// The WASI context of an instance: stdio captured, nothing else unless
/// granted. Sockets stay denied (no address is ever allowed).
pub fn wasi_ctx(grants: &Grants, stdout: &Capture, stderr: &Capture) -> Result<WasiCtx> {
    let mut b = WasiCtx::builder();
    b.stdout(stdout.clone()).stderr(stderr.clone());
    b.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    for (host, guest) in &grants.dirs {
        b.preopened_dir(host, guest, FsPerms::ReadOnly)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot grant the directory {} (storm.wasm.grant.dirs)", host.display()))?;
    }
    for name in &grants.env {
        if let Ok(value) = std::env::var(name) {
            b.env(name, value);
        }
    }
    Ok(b.build())
}

/// The grants as the startup log shows them.
pub fn describe_grants(grants: &Grants) -> String {
    if grants.dirs.is_empty() && grants.env.is_empty() {
        return "none (no files, network, environment or stdin; clocks and random only)".into();
    }
    let mut parts = Vec::new();
    for (host, guest) in &grants.dirs {
        parts.push(format!("read-only dir {} at {guest}", host.display()));
    }
    for name in &grants.env {
        let set = if std::env::var_os(name).is_some() { "" } else { " (not set)" };
        parts.push(format!("env {name}{set}"));
    }
    parts.join(", ")
}

/// Says what went wrong in a call: a deadline, the memory limit, another
/// limit, a trap, with the plugin's last stderr lines (a Rust panic message
/// lands there) and the wasm backtrace.
pub fn trap_cause(err: &wasmtime::Error, stderr: &[String], deadline: Duration, memory: &MemoryLimiter) -> String {
    let mut cause = match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            format!("exceeded its CPU deadline of {} ms (storm.wasm.deadline.ms)", deadline.as_millis())
        }
        Some(wasmtime::Trap::StackOverflow) => "overflowed its stack (storm.wasm.max.stack.kb)".to_string(),
        Some(trap) if memory.refused => {
            format!("ran out of memory ({trap}): its limit is {} MiB (storm.wasm.max.memory.mb)", memory.cap() >> 20)
        }
        Some(trap) => format!("trapped: {trap}"),
        // A host error (a limit the host enforced): its own message; the
        // backtrace wasmtime wraps it in is appended below.
        None => err.root_cause().to_string(),
    };
    let last: Vec<&str> = stderr.iter().rev().take(3).rev().map(String::as_str).collect();
    if !last.is_empty() {
        cause.push_str(" | stderr: ");
        cause.push_str(&last.join(" / "));
    }
    if let Some(bt) = err.downcast_ref::<wasmtime::WasmBacktrace>() {
        cause.push_str(&format!("\n{bt}"));
    }
    cause
}

/// The values of an emit must be exactly one MessagePack array: Storm's
/// next component would otherwise get garbage, far from the cause.
pub fn check_values(values: &[u8]) -> Result<(), String> {
    match msgpack::value_len(values) {
        Ok(len) if len == values.len() && matches!(values[0], 0x90..=0x9f | 0xdc | 0xdd) => Ok(()),
        Ok(len) if len == values.len() => Err("the values are not a MessagePack array".into()),
        Ok(_) => Err("the values hold bytes after one MessagePack array".into()),
        Err(_) => Err("the values are not valid MessagePack".into()),
    }
}

/// `s` cut to at most `max` bytes (on a character boundary), saying how much was cut.
pub fn truncate(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes cut)", &s[..cut], s.len() - cut).into()
}

/// The bytes of an emit's anchors, for the per-call budget.
pub fn anchors_len(anchors: &[String]) -> usize {
    anchors.iter().map(String::len).sum()
}
