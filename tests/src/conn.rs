//! Storm's side of one multi-lang pipe pair, on a single thread: bytes
//! queued for the child's stdin are written as far as the pipe takes them,
//! the child's stdout is read into one reused buffer and cut into frames.
//! A read or write that would block returns at once; `wait` sleeps in
//! `poll` until either side can move.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use storm_multilang::storm_side::{self, ToChild};
use storm_multilang::Serializer;

use crate::child::Proc;
use crate::sys;
use crate::wire::{self, Msg, Next};

/// Read buffer size; it grows for a frame larger than this.
const READ_BUF: usize = 256 << 10;

/// What a read brought.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    /// Some bytes.
    Data,
    /// Nothing yet.
    Empty,
    /// The child closed stdout.
    Eof,
}

/// A child and the bytes in flight each way.
pub struct Conn {
    /// The child process.
    pub proc: Proc,
    /// The serializer both sides use.
    pub serializer: Serializer,
    out: Vec<u8>,
    written: usize,
    input: Vec<u8>,
    start: usize,
    end: usize,
    /// The child stopped reading (it exited or closed stdin).
    pub broken_pipe: bool,
}

impl Conn {
    /// Starts `command` (program then arguments).
    pub fn spawn(command: &[String], serializer: Serializer) -> std::io::Result<Conn> {
        let (program, args) = command.split_first().expect("a command has a program");
        Ok(Conn {
            proc: Proc::spawn(Path::new(program), args)?,
            serializer,
            out: Vec::with_capacity(64 << 10),
            written: 0,
            input: vec![0; READ_BUF],
            start: 0,
            end: 0,
            broken_pipe: false,
        })
    }

    /// The buffer to append framed messages to (written by `write`).
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Queues one message.
    pub fn queue(&mut self, msg: &ToChild<'_>) {
        storm_side::encode(self.serializer, msg, &mut self.out).expect("the driver's messages encode");
    }

    /// Whether queued bytes wait for the pipe.
    pub fn has_output(&self) -> bool {
        self.written < self.out.len()
    }

    /// Writes as much of the queue as the pipe takes now.
    pub fn write(&mut self) {
        while self.has_output() {
            let Some(stdin) = self.proc.stdin.as_mut() else { return };
            match stdin.write(&self.out[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    // The child is gone; what it said last is still to be read.
                    self.broken_pipe = true;
                    self.out.clear();
                    self.written = 0;
                    return;
                }
            }
        }
        self.out.clear();
        self.written = 0;
    }

    /// Reads what the child has written so far.
    pub fn read(&mut self) -> std::io::Result<Got> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.input.len() - self.end < 16 << 10 {
            // Move the partial frame to the front; grow for a huge one.
            self.input.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.end > self.input.len() / 2 {
                self.input.resize(self.input.len() * 2, 0);
            }
        }
        loop {
            match self.proc.stdout.read(&mut self.input[self.end..]) {
                Ok(0) => return Ok(Got::Eof),
                Ok(n) => {
                    self.end += n;
                    return Ok(Got::Data);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Got::Empty),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Decodes the next complete buffered frame and hands it to `f`:
    /// `None` when no whole frame is buffered, `Some(Err)` for bytes that
    /// are not a message (after a broken frame the buffer is dropped).
    pub fn next_msg<R>(&mut self, f: impl FnOnce(Msg<'_>) -> R) -> Option<Result<R, String>> {
        match wire::next(self.serializer, &self.input[self.start..self.end]) {
            Next::Incomplete => None,
            Next::Lean(msg, len) => {
                self.start += len;
                Some(Ok(f(msg)))
            }
            Next::Full(msg, len) => {
                self.start += len;
                Some(msg.map(|m| wire::with_full(m, f)))
            }
            Next::Broken(why) => {
                self.start = self.end;
                Some(Err(why))
            }
        }
    }

    /// Sleeps until the child's stdout is readable (or stdin writable, when
    /// something is queued) or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let stdout = (self.proc.stdout.as_raw_fd(), sys::POLLIN);
        match (&self.proc.stdin, self.has_output()) {
            (Some(stdin), true) => sys::wait(&[stdout, (stdin.as_raw_fd(), sys::POLLOUT)], timeout),
            _ => sys::wait(&[stdout], timeout),
        }
        .expect("poll works on pipes");
    }

    /// The next message within `timeout` (for request/reply exchanges such
    /// as the handshake); `Err` says what came instead.
    pub fn recv<R>(&mut self, timeout: Duration, f: impl FnOnce(Msg<'_>) -> R) -> Result<R, String> {
        let deadline = Instant::now() + timeout;
        let mut f = Some(f);
        loop {
            self.write();
            if let Some(r) = self.next_msg(|m| (f.take().expect("called once"))(m)) {
                return r;
            }
            match self.read().map_err(|e| e.to_string())? {
                Got::Data => continue,
                Got::Eof => return Err(format!("the child closed stdout; stderr:\n{}", self.proc.stderr())),
                Got::Empty => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("nothing from the child within {timeout:?}; stderr:\n{}", self.proc.stderr()));
            }
            self.wait(left);
        }
    }

    /// Storm's handshake: the setup message, the pid reply, the pid file.
    pub fn handshake(&mut self, conf: &serde_json::Value, context: &serde_json::Value) -> Result<(), String> {
        let (conf, context) = (crate::msgpack(conf), crate::msgpack(context));
        let pid_dir = self.proc.pid_dir.to_str().expect("utf-8 temp dir").to_string();
        self.queue(&ToChild::Handshake { pid_dir: &pid_dir, conf: &conf, context: &context });
        let pid = self.recv(Duration::from_secs(60), |m| match m {
            Msg::Pid(p) => Ok(p),
            other => Err(format!("expected the pid reply, got {other:?}")),
        })??;
        if pid != self.proc.pid() as i64 {
            return Err(format!("the pid reply says {pid}, the child is {}", self.proc.pid()));
        }
        if !self.proc.pid_dir.join(pid.to_string()).exists() {
            return Err("the child did not create its pid file".into());
        }
        Ok(())
    }
}
