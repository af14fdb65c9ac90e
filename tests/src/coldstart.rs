//! Cold start: how long `storm-wasm compile` takes with an empty and with a
//! warm compile cache, and how long a task takes from process start to the
//! ack of its first tuple (what a Storm worker waits for after a deploy or
//! a restart).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use storm_multilang::storm_side::ToChild;
use storm_multilang::Serializer;

use crate::conn::Conn;
use crate::shell::{conf, context};
use crate::wire::Msg;

/// Wall time of `storm-wasm compile <plugin> --cache-dir <cache>`.
pub fn compile(host: &Path, plugin: &Path, cache: &Path) -> Result<Duration, String> {
    let started = Instant::now();
    let out = Command::new(host)
        .arg("compile")
        .arg(plugin)
        .arg("--cache-dir")
        .arg(cache)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", host.display()))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!("compile failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(took)
}

/// One task's start.
#[derive(Clone, Copy, Debug)]
pub struct FirstAck {
    /// Process start → the ack of the first tuple.
    pub to_first_ack: Duration,
    /// The task's resident memory once that tuple is done.
    pub rss_bytes: Option<u64>,
}

/// Starts `command`, does the handshake, sends one tuple with `values` and
/// waits for its ack.
pub fn first_ack(command: &[String], serializer: Serializer, values: &[u8]) -> Result<FirstAck, String> {
    let mut conn = Conn::spawn(command, serializer).map_err(|e| format!("cannot start {command:?}: {e}"))?;
    conn.handshake(&conf(), &context(3, "bolt"))?;
    let id = "-1000000000000000001";
    conn.queue(&ToChild::Tuple { id, comp: Some("spout"), stream: "default", task: 7, values });
    loop {
        let acked = conn.recv(Duration::from_secs(120), |m| match m {
            Msg::Ack(got) if got.0 == id.as_bytes() => Ok(true),
            Msg::Emit { .. } | Msg::Log => Ok(false),
            other => Err(format!("expected the ack of the first tuple, got {other:?}")),
        })??;
        if acked {
            break;
        }
    }
    let to_first_ack = conn.proc.started.elapsed();
    let rss_bytes = conn.proc.rss_bytes();
    conn.proc.close_stdin();
    conn.proc.wait(Duration::from_secs(10));
    Ok(FirstAck { to_first_ack, rss_bytes })
}
