//! Writing to Storm: the only code that touches stdout.
//!
//! Both the plugin thread (emits, acks) and the reader thread (heartbeat
//! replies) write, so frames are encoded under one lock into a buffer that is
//! flushed at the end of each batch, on every heartbeat reply, and whenever it
//! grows large. A frame is never split between writers.

use std::io::{self, Write};
use std::sync::Mutex;

use storm_multilang::{LogLevel, Outgoing, Serializer};

use crate::logging;

const FLUSH_AT: usize = 64 << 10;

/// The connection to Storm, shared by the threads of a task.
pub struct Output {
    serializer: Serializer,
    inner: Mutex<Inner>,
}

struct Inner {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
}

/// Why a message did not reach Storm.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The values cannot be written in this serializer.
    #[error(transparent)]
    Encode(#[from] storm_multilang::EncodeError),
    /// Storm's end of the pipe is gone.
    #[error("cannot write to Storm: {0}")]
    Io(#[from] io::Error),
}

impl Output {
    /// Output to `out` (stdout in production).
    pub fn new(out: impl Write + Send + 'static, serializer: Serializer) -> Self {
        Output { serializer, inner: Mutex::new(Inner { out: Box::new(out), buf: Vec::with_capacity(FLUSH_AT * 2) }) }
    }

    /// The serializer in use.
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// Queues one message; it is written at the next flush.
    pub fn send(&self, msg: &Outgoing<'_>) -> Result<(), SendError> {
        let mut inner = self.lock();
        self.serializer.encode(msg, &mut inner.buf)?;
        if inner.buf.len() >= FLUSH_AT {
            inner.flush()?;
        }
        Ok(())
    }

    /// Queues messages already encoded with this serializer.
    pub fn send_encoded(&self, frames: &[u8]) -> io::Result<()> {
        let mut inner = self.lock();
        inner.buf.extend_from_slice(frames);
        if inner.buf.len() >= FLUSH_AT {
            inner.flush()?;
        }
        Ok(())
    }

    /// Queues one message and writes everything queued.
    pub fn send_now(&self, msg: &Outgoing<'_>) -> Result<(), SendError> {
        let mut inner = self.lock();
        // Log lines first: a spout's cycle ends at its `sync`, and what
        // happened in the cycle belongs in it.
        self.append_host_logs(&mut inner);
        self.serializer.encode(msg, &mut inner.buf)?;
        inner.flush()?;
        Ok(())
    }

    /// Writes one message on its own: the handshake reply, which must be the
    /// first thing Storm reads (log lines wait for the next write).
    pub fn send_first(&self, msg: &Outgoing<'_>) -> Result<(), SendError> {
        let mut inner = self.lock();
        self.serializer.encode(msg, &mut inner.buf)?;
        inner.flush()?;
        Ok(())
    }

    /// Writes everything queued, with the host's pending log lines.
    pub fn flush(&self) -> io::Result<()> {
        let mut inner = self.lock();
        self.append_host_logs(&mut inner);
        inner.flush()
    }

    /// Queues a log line for Storm's log handler.
    pub fn log(&self, level: LogLevel, msg: &str) -> Result<(), SendError> {
        self.send(&Outgoing::Log { level, msg })
    }

    fn append_host_logs(&self, inner: &mut Inner) {
        for (level, msg) in logging::take_storm_lines() {
            let _ = self.serializer.encode(&Outgoing::Log { level, msg: &msg }, &mut inner.buf);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves whole frames in the
        // buffer (encode is all or nothing), so the data is still good.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let result = self.out.write_all(&self.buf);
            self.buf.clear();
            result?;
        }
        self.out.flush()
    }
}
