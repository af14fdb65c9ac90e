//! Hot-swap latency under load: a task runs `swap_counter` (which emits
//! `(word, count, version)`) while tuples stream at full speed, 100 in
//! flight; the plugin file is replaced the safe way (write beside, rename
//! over) by the other version, again and again. Each swap's latency is
//! rename → the first emit that carries the new version, as read by Storm.
//! Both versions are compiled into the cache first, as a deploy would
//! (`storm-wasm compile`), so this is the swap itself, not cranelift.
//!
//! The throughput dip: every read that brings acks is time-stamped. The
//! gaps between two such reads in a steady stretch before the first swap
//! are the baseline (a gap there is about one batch's round trip); around
//! each swap (rename → first new-version emit + [`AFTER_SWITCH`]) the
//! longest gap is the stall the swap caused, and the acks missing against
//! the steady rate over that window are its cost in throughput.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use storm_multilang::Serializer;

use crate::conn::{Conn, Got};
use crate::flight::Flight;
use crate::shell::{conf, context};
use crate::wire::{Msg, TupleTemplate};

/// The two versions' files in the plugins directory and what they emit.
const VERSIONS: [(&str, &[u8]); 2] = [("swap_counter.wasm", b"1.0.0"), ("swap_counter_v2.wasm", b"2.0.0")];

/// How long the task runs at full speed before the first swap: the
/// steady-state baseline of the ack gaps.
const STEADY: Duration = Duration::from_millis(2000);
/// The swap window runs this long past the first new-version emit (the
/// switch's after-effects: the new instance's first batches). Less than the
/// 200 ms between swaps, so windows never overlap.
const AFTER_SWITCH: Duration = Duration::from_millis(100);

/// What the swaps of one run looked like.
#[derive(Debug, Default)]
pub struct SwapReport {
    /// Rename → first emit of the new version, one per swap.
    pub latencies: Vec<Duration>,
    /// Gaps between consecutive reads that brought acks, in the steady
    /// stretch before any swap, sorted.
    pub steady_gaps: Vec<Duration>,
    /// Acks per second in the steady stretch.
    pub steady_rate: f64,
    /// Acks per read that brought any, in the steady stretch: about one
    /// batch (the host flushes once per batch).
    pub steady_acks_per_read: f64,
    /// The steady stretch cut into windows as long as a swap's (median):
    /// the longest gap of each. What a swap window's longest gap compares
    /// with (a 100 ms window holds hundreds of gaps, so its longest is far
    /// out in the tail of `steady_gaps` even with no swap at all).
    pub steady_window_max_gaps: Vec<Duration>,
    /// Per swap: the longest gap between ack reads that overlaps its window.
    pub swap_max_gaps: Vec<Duration>,
    /// The same measure over each steady window (against the steady rate):
    /// what `swap_lost` shows with no swap, from the noise alone.
    pub steady_window_lost: Vec<Duration>,
    /// Acks per second between swap windows (window end → next rename):
    /// the reference rate of `swap_lost`, measured interleaved with the
    /// swaps so drift in the machine's load cancels out.
    pub between_rate: f64,
    /// Per swap: acks short of `between_rate` over its window, as time at
    /// that rate (0 when the window kept up).
    pub swap_lost: Vec<Duration>,
}

/// Swaps of a task under `serializer` load: latencies and the throughput dip.
pub fn measure(
    host: &Path,
    plugins: &Path,
    cache: &Path,
    serializer: Serializer,
    swaps: usize,
) -> Result<SwapReport, String> {
    let wasm: Vec<Vec<u8>> = VERSIONS
        .iter()
        .map(|(f, _)| std::fs::read(plugins.join(f)).map_err(|e| format!("{f}: {e}")))
        .collect::<Result<_, _>>()?;
    for (f, _) in VERSIONS {
        crate::coldstart::compile(host, &plugins.join(f), cache)?;
    }
    let dir = std::env::temp_dir().join(format!("storm-bench-swap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = run(host, &dir, cache, serializer, swaps, &wasm);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(
    host: &Path,
    dir: &Path,
    cache: &Path,
    serializer: Serializer,
    swaps: usize,
    wasm: &[Vec<u8>],
) -> Result<SwapReport, String> {
    let plugin = dir.join("plugin.wasm");
    let publish = |bytes: &[u8]| -> Result<Instant, String> {
        let tmp = dir.join(".plugin.wasm.tmp");
        std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &plugin).map_err(|e| e.to_string())?;
        Ok(Instant::now())
    };
    publish(&wasm[0])?;
    // The operator publishes from a thread of its own, as a deploy would from
    // another process: the file's write must not pause this thread's reading
    // of acks, or the benchmark would count its own pause as the swap's.
    let (ask, asked) = mpsc::channel::<usize>();
    let (renamed_tx, renamed) = mpsc::channel::<Result<Instant, String>>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for to in asked {
                if renamed_tx.send(publish(&wasm[to])).is_err() {
                    return;
                }
            }
        });
        let result = stream(host, cache, serializer, swaps, &plugin, &ask, &renamed);
        drop(ask);
        result
    })
}

/// Streams tuples through the task at `plugin` while asking for `swaps`
/// swaps, one at a time, 200 ms apart.
fn stream(
    host: &Path,
    cache: &Path,
    serializer: Serializer,
    swaps: usize,
    plugin: &Path,
    ask: &mpsc::Sender<usize>,
    renamed: &mpsc::Receiver<Result<Instant, String>>,
) -> Result<SwapReport, String> {
    let ser = if serializer == Serializer::Json { "json" } else { "msgpack" };
    let command: Vec<String> = vec![
        host.display().to_string(),
        "bolt".into(),
        plugin.display().to_string(),
        "--serializer".into(),
        ser.into(),
        "--cache-dir".into(),
        cache.display().to_string(),
    ];
    let mut conn = Conn::spawn(&command, serializer).map_err(|e| e.to_string())?;
    conn.handshake(&conf(), &context(3, "counter"))?;
    let templates: Vec<TupleTemplate> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|w| TupleTemplate::new(serializer, &crate::msgpack(&serde_json::json!([w]))))
        .collect();
    let mut flight = Flight::new(100);
    let (mut sent, mut latencies) = (0usize, Vec::new());
    // The version asked for, not yet seen.
    let mut pending: Option<usize> = None;
    let mut current = 0usize;
    let started = Instant::now();
    let mut next_swap = started + STEADY;
    // Every read that brought acks: when, and how many.
    let mut ack_reads: Vec<(Instant, u32)> = Vec::with_capacity(1 << 16);
    // Every swap: renamed, first new-version emit.
    let mut windows: Vec<(Instant, Instant)> = Vec::with_capacity(swaps);
    let deadline = Instant::now() + Duration::from_secs(30 + 2 * swaps as u64);
    let mut problem = None;
    while latencies.len() < swaps && problem.is_none() {
        if Instant::now() > deadline {
            return Err(format!(
                "{} of {swaps} swaps seen before the deadline; stderr:\n{}",
                latencies.len(),
                conn.proc.stderr()
            ));
        }
        while flight.has_room() {
            let id = flight.insert(0);
            templates[sent % templates.len()].write(id, conn.out());
            sent += 1;
        }
        if pending.is_none() && Instant::now() >= next_swap {
            let to = 1 - current;
            ask.send(to).map_err(|_| "the publishing thread is gone".to_string())?;
            pending = Some(to);
        }
        conn.write();
        conn.wait(Duration::from_millis(5));
        match conn.read() {
            Ok(Got::Data) => {}
            Ok(Got::Empty) => continue,
            Ok(Got::Eof) | Err(_) => return Err(format!("the task ended; stderr:\n{}", conn.proc.stderr())),
        }
        let now = Instant::now();
        let mut acks = 0u32;
        while let Some(r) = conn.next_msg(|m| match m {
            Msg::Ack(id) | Msg::Fail(id) => {
                acks += 1;
                flight.remove(id).map(|_| None).ok_or_else(|| format!("ack of {id}, not in flight"))
            }
            Msg::Emit { values, .. } => {
                if let Some(to) = pending {
                    if values.windows(5).any(|w| w == VERSIONS[to].1) {
                        return Ok(Some(to));
                    }
                }
                Ok(None)
            }
            Msg::Sync | Msg::Log => Ok(None),
            other => Err(format!("unexpected: {other:?}")),
        }) {
            match r {
                Ok(Ok(Some(to))) => {
                    // The rename happened before the new version could emit:
                    // its time is on the channel already (or within µs).
                    let at = renamed.recv().map_err(|_| "the publishing thread is gone".to_string())??;
                    let latency = now - at;
                    latencies.push(latency);
                    windows.push((now - latency, now));
                    current = to;
                    pending = None;
                    next_swap = now + Duration::from_millis(200);
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) | Err(e) => problem = Some(e),
            }
        }
        if acks > 0 {
            ack_reads.push((now, acks));
        }
    }
    if let Some(p) = problem {
        return Err(p);
    }
    // The last window may still be open: wait it out so it is complete.
    let end = Instant::now() + AFTER_SWITCH;
    while Instant::now() < end {
        while flight.has_room() {
            let id = flight.insert(0);
            templates[sent % templates.len()].write(id, conn.out());
            sent += 1;
        }
        conn.write();
        conn.wait(Duration::from_millis(5));
        if let Ok(Got::Eof) | Err(_) = conn.read() {
            return Err(format!("the task ended; stderr:\n{}", conn.proc.stderr()));
        }
        let now = Instant::now();
        let mut acks = 0u32;
        while let Some(r) = conn.next_msg(|m| {
            if let Msg::Ack(id) | Msg::Fail(id) = m {
                acks += 1;
                flight.remove(id);
            }
        }) {
            r?;
        }
        if acks > 0 {
            ack_reads.push((now, acks));
        }
    }
    conn.proc.close_stdin();
    conn.proc.wait(Duration::from_secs(10));
    Ok(dip(latencies, &ack_reads, &windows, started + STEADY))
}

/// The steady baseline (ack reads before `steady_end`, the first 20 % left
/// out as warm-up) and each swap window's longest gap and lost acks.
fn dip(
    latencies: Vec<Duration>,
    reads: &[(Instant, u32)],
    windows: &[(Instant, Instant)],
    steady_end: Instant,
) -> SwapReport {
    if reads.is_empty() {
        return SwapReport { latencies, ..SwapReport::default() };
    }
    let steady: Vec<&(Instant, u32)> = {
        let all: Vec<_> = reads.iter().filter(|(t, _)| *t < steady_end).collect();
        let skip = all.len() / 5;
        all.into_iter().skip(skip).collect()
    };
    let mut steady_gaps: Vec<Duration> = steady.windows(2).map(|w| w[1].0 - w[0].0).collect();
    steady_gaps.sort_unstable();
    let steady_acks: u32 = steady.iter().skip(1).map(|(_, n)| n).sum();
    let steady_span = match (steady.first(), steady.last()) {
        (Some(a), Some(b)) => b.0 - a.0,
        _ => Duration::ZERO,
    };
    let steady_rate = steady_acks as f64 / steady_span.as_secs_f64().max(1e-9);
    let steady_acks_per_read = steady.iter().map(|(_, n)| *n as f64).sum::<f64>() / steady.len().max(1) as f64;
    // The longest gap between ack reads that overlaps [from, to]: from the
    // last read before `from` to the first read after `to`.
    let longest_gap = |from: Instant, to: Instant| {
        let first = reads.partition_point(|(t, _)| *t < from).saturating_sub(1);
        let last = reads.partition_point(|(t, _)| *t <= to).min(reads.len() - 1);
        reads[first..=last].windows(2).map(|w| w[1].0 - w[0].0).max().unwrap_or_default()
    };
    let mut lengths: Vec<Duration> = windows.iter().map(|(r, s)| *s + AFTER_SWITCH - *r).collect();
    lengths.sort_unstable();
    let window = lengths.get(lengths.len() / 2).copied().unwrap_or(AFTER_SWITCH);
    // Acks read in (from, to].
    let acked = |from: Instant, to: Instant| -> u64 {
        reads.iter().filter(|(t, _)| *t > from && *t <= to).map(|(_, n)| u64::from(*n)).sum()
    };
    // Time short of `rate` over (from, to], had the acks come at that rate.
    let lost = |from: Instant, to: Instant, rate: f64| {
        Duration::from_secs_f64(((to - from).as_secs_f64() - acked(from, to) as f64 / rate.max(1e-9)).max(0.0))
    };
    let (mut steady_window_max_gaps, mut steady_window_lost) = (Vec::new(), Vec::new());
    if let Some((mut from, _)) = steady.first() {
        while from + window <= steady_end {
            steady_window_max_gaps.push(longest_gap(from, from + window));
            steady_window_lost.push(lost(from, from + window, steady_rate));
            from += window;
        }
    }
    steady_window_max_gaps.sort_unstable();
    steady_window_lost.sort_unstable();
    let (mut between_acks, mut between_secs) = (0u64, 0f64);
    for pair in windows.windows(2) {
        let (end, next) = (pair[0].1 + AFTER_SWITCH, pair[1].0);
        if next > end {
            between_acks += acked(end, next);
            between_secs += (next - end).as_secs_f64();
        }
    }
    let between_rate = if between_secs > 0.0 { between_acks as f64 / between_secs } else { steady_rate };
    let (mut swap_max_gaps, mut swap_lost) = (Vec::new(), Vec::new());
    for &(renamed, switched) in windows {
        let end = switched + AFTER_SWITCH;
        swap_max_gaps.push(longest_gap(renamed, end));
        swap_lost.push(lost(renamed, end, between_rate));
    }
    SwapReport {
        latencies,
        steady_gaps,
        steady_rate,
        steady_acks_per_read,
        steady_window_max_gaps,
        swap_max_gaps,
        steady_window_lost,
        between_rate,
        swap_lost,
    }
}
