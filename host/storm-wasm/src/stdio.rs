//! The plugin's stdout and stderr: captured, never inherited (our stdout is
//! Storm's protocol channel), and turned into log lines after each call.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Most bytes kept per stream between two drains; the rest is counted and
/// dropped so a chatty plugin cannot grow the host without bound.
const CAPACITY: usize = 64 << 10;

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    dropped: usize,
}

/// One captured stream. Clones share the buffer.
#[derive(Clone, Default)]
pub struct Capture {
    inner: Arc<Mutex<Captured>>,
}

impl Capture {
    /// Complete lines written since the last call, and how many bytes were
    /// dropped. A trailing partial line stays for the next call unless `all`.
    pub fn take_lines(&self, all: bool) -> (Vec<String>, usize) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let cut = if all { c.bytes.len() } else { c.bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) };
        let taken: Vec<u8> = c.bytes.drain(..cut).collect();
        let dropped = std::mem::take(&mut c.dropped);
        let lines =
            String::from_utf8_lossy(&taken).lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
        (lines, dropped)
    }
}

/// The log lines for what a plugin wrote to `stdout` and `stderr` since
/// the last drain, each with whether it is a warning (stdout is INFO,
/// stderr and a note on dropped bytes are WARN), and the stderr lines (for
/// the cause of a trap).
pub fn drain(stdout: &Capture, stderr: &Capture, all: bool) -> (Vec<(bool, String)>, Vec<String>) {
    let (out, out_dropped) = stdout.take_lines(all);
    let (err, err_dropped) = stderr.take_lines(all);
    let mut log: Vec<(bool, String)> = out.into_iter().map(|l| (false, format!("[stdout] {l}"))).collect();
    log.extend(err.iter().map(|l| (true, format!("[stderr] {l}"))));
    if out_dropped + err_dropped > 0 {
        log.push((true, format!("[stdio] {} bytes of output dropped", out_dropped + err_dropped)));
    }
    (log, err)
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = CAPACITY.saturating_sub(c.bytes.len());
        let kept = buf.len().min(room);
        c.bytes.extend_from_slice(&buf[..kept]);
        c.dropped += buf.len() - kept;
        // Always accept everything: a write error would make Rust's print!
        // panic, which traps the plugin.
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
