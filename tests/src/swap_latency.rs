//! Hot-swap latency under load: a task runs `swap_counter` (which emits
//! `(word, count, version)`) while tuples stream at full speed, 100 in
//! flight; the plugin file is replaced the safe way (write beside, rename
//! over) by the other version, again and again. Each swap's latency is
//! rename → the first emit that carries the new version, as read by Storm.
//! Both versions are compiled into the cache first, as a deploy would
//! (`storm-wasm compile`), so this is the swap itself, not cranelift.

use std::path::Path;
use std::time::{Duration, Instant};

use storm_multilang::Serializer;

use crate::conn::{Conn, Got};
use crate::flight::Flight;
use crate::shell::{conf, context};
use crate::wire::{Msg, TupleTemplate};

/// The two versions' files in the plugins directory and what they emit.
const VERSIONS: [(&str, &[u8]); 2] = [("swap_counter.wasm", b"1.0.0"), ("swap_counter_v2.wasm", b"2.0.0")];

/// Swap latencies (one per swap) of a task under `serializer` load.
pub fn measure(
    host: &Path,
    plugins: &Path,
    cache: &Path,
    serializer: Serializer,
    swaps: usize,
) -> Result<Vec<Duration>, String> {
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
) -> Result<Vec<Duration>, String> {
    let plugin = dir.join("plugin.wasm");
    let publish = |bytes: &[u8]| -> Result<Instant, String> {
        let tmp = dir.join(".plugin.wasm.tmp");
        std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &plugin).map_err(|e| e.to_string())?;
        Ok(Instant::now())
    };
    publish(&wasm[0])?;
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
    // The version being waited for and when its file was renamed into place.
    let mut pending: Option<(usize, Instant)> = None;
    let mut current = 0usize;
    let mut next_swap = Instant::now() + Duration::from_millis(300);
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
            pending = Some((to, publish(&wasm[to])?));
        }
        conn.write();
        conn.wait(Duration::from_millis(5));
        match conn.read() {
            Ok(Got::Data) => {}
            Ok(Got::Empty) => continue,
            Ok(Got::Eof) | Err(_) => return Err(format!("the task ended; stderr:\n{}", conn.proc.stderr())),
        }
        let now = Instant::now();
        while let Some(r) = conn.next_msg(|m| match m {
            Msg::Ack(id) | Msg::Fail(id) => {
                flight.remove(id).map(|_| None).ok_or_else(|| format!("ack of {id}, not in flight"))
            }
            Msg::Emit { values, .. } => {
                if let Some((to, at)) = pending {
                    if values.windows(5).any(|w| w == VERSIONS[to].1) {
                        return Ok(Some((to, now - at)));
                    }
                }
                Ok(None)
            }
            Msg::Sync | Msg::Log => Ok(None),
            other => Err(format!("unexpected: {other:?}")),
        }) {
            match r {
                Ok(Ok(Some((to, latency)))) => {
                    latencies.push(latency);
                    current = to;
                    pending = None;
                    next_swap = now + Duration::from_millis(200);
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) | Err(e) => problem = Some(e),
            }
        }
    }
    if let Some(p) = problem {
        return Err(p);
    }
    conn.proc.close_stdin();
    conn.proc.wait(Duration::from_secs(10));
    Ok(latencies)
}
