//! One multi-lang subprocess, driven the way a ShellBolt or ShellSpout
//! drives it.

use std::collections::VecDeque;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use storm_multilang::storm_side::{self, ShellMsg, ToChild};
use storm_multilang::{FrameReader, ReadError, Serializer};

/// How long `recv` waits before declaring the child stuck.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(30);

/// What the reader thread saw on the child's stdout.
#[derive(Debug)]
pub enum Seen {
    /// A decoded message.
    Msg(ShellMsg),
    /// The child closed stdout.
    Closed,
    /// Bytes that are not a valid frame: a protocol violation.
    Garbage(String),
}

/// A running subprocess with Storm's view of it.
pub struct Shell {
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    seen: Receiver<Vec<(Instant, Seen)>>,
    pending: VecDeque<(Instant, Seen)>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Drains stderr; joined once the child exited, so `stderr()` then
    /// holds everything the child wrote.
    stderr_thread: Option<std::thread::JoinHandle<()>>,
    /// The serializer in use.
    pub serializer: Serializer,
    /// The pid directory handed over in the handshake.
    pub pid_dir: PathBuf,
    buf: Vec<u8>,
}

impl Shell {
    /// Starts `program args…` with piped stdio.
    pub fn spawn(program: &Path, args: &[&str], serializer: Serializer) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("piped");
        let mut stderr_pipe = child.stderr.take().expect("piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let stderr_thread = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = std::io::Read::read(&mut stderr_pipe, &mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        let (tx, seen) = mpsc::channel::<Vec<(Instant, Seen)>>();
        std::thread::spawn(move || {
            let mut frames = FrameReader::new(stdout, Some(serializer));
            let mut batch = Vec::new();
            loop {
                let seen = match frames.next_frame() {
                    Ok((s, body)) => match storm_side::decode(s, body) {
                        Ok(msg) => Seen::Msg(msg),
                        Err(e) => Seen::Garbage(e.to_string()),
                    },
                    Err(ReadError::Closed) => Seen::Closed,
                    Err(e) => Seen::Garbage(e.to_string()),
                };
                let last = !matches!(seen, Seen::Msg(_));
                batch.push((Instant::now(), seen));
                // One hand-over per read, not per message: the driver must
                // cost less than what it measures.
                if last || batch.len() >= 256 || !frames.has_buffered_frame() {
                    if tx.send(std::mem::take(&mut batch)).is_err() || last {
                        return;
                    }
                }
            }
        });
        let pid_dir = std::env::temp_dir().join(format!("storm-wasm-pids-{}-{}", std::process::id(), child.id()));
        std::fs::create_dir_all(&pid_dir).expect("temp dir is writable");
        let stdin = Some(BufWriter::with_capacity(64 << 10, child.stdin.take().expect("piped")));
        Shell {
            child,
            stdin,
            seen,
            pending: VecDeque::new(),
            stderr,
            stderr_thread: Some(stderr_thread),
            serializer,
            pid_dir,
            buf: Vec::new(),
        }
    }

    /// Starts `storm-wasm <kind> <plugin> --serializer …` plus `extra` args.
    pub fn storm_wasm(kind: &str, plugin: &Path, serializer: Serializer, extra: &[&str]) -> Self {
        let ser = match serializer {
            Serializer::Json => "json",
            Serializer::MessagePack => "msgpack",
        };
        let plugin = plugin.to_str().expect("utf-8 path");
        let mut args = vec![kind, plugin, "--serializer", ser];
        args.extend_from_slice(extra);
        Self::spawn(&crate::host_binary(), &args, serializer)
    }

    /// Sends the handshake and reads the pid reply; checks the pid file.
    pub fn handshake(&mut self, conf: Value, context: Value) -> i64 {
        let conf = crate::msgpack(&conf);
        let context = crate::msgpack(&context);
        let pid_dir = self.pid_dir.to_str().expect("utf-8").to_string();
        self.send(&ToChild::Handshake { pid_dir: &pid_dir, conf: &conf, context: &context });
        let pid = match self.recv() {
            ShellMsg::Pid(pid) => pid,
            other => panic!("expected the pid reply, got {other:?}; stderr: {}", self.stderr()),
        };
        assert_eq!(pid, self.child.id() as i64, "the pid reply names the child");
        assert!(self.pid_dir.join(pid.to_string()).exists(), "the child created its pid file");
        pid
    }

    /// Queues a message (written at the next `flush`).
    pub fn queue(&mut self, msg: &ToChild<'_>) {
        self.buf.clear();
        storm_side::encode(self.serializer, msg, &mut self.buf).expect("encodable");
        if let Some(stdin) = self.stdin.as_mut() {
            // A child that already exited makes this fail; the test then sees
            // its exit status and stderr.
            let _ = stdin.write_all(&self.buf);
        }
    }

    /// Writes raw bytes (for malformed input).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(bytes);
            let _ = stdin.flush();
        }
    }

    /// Writes what is queued.
    pub fn flush(&mut self) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.flush();
        }
    }

    /// Sends one message now.
    pub fn send(&mut self, msg: &ToChild<'_>) {
        self.queue(msg);
        self.flush();
    }

    /// Sends a tuple whose values are given as JSON.
    pub fn send_tuple(&mut self, id: &str, values: &Value) {
        let values = crate::msgpack(values);
        self.send(&ToChild::Tuple { id, comp: Some("source"), stream: "default", task: 1, values: &values });
    }

    /// The next message, failing the test if the child breaks the protocol
    /// or says nothing for [`RECV_TIMEOUT`].
    pub fn recv(&mut self) -> ShellMsg {
        match self.try_recv(RECV_TIMEOUT) {
            Some(Seen::Msg(m)) => m,
            Some(other) => panic!("expected a message, got {other:?}; stderr:\n{}", self.stderr()),
            None => panic!("no message within {RECV_TIMEOUT:?}; stderr:\n{}", self.stderr()),
        }
    }

    /// The next thing seen, or `None` after `timeout`.
    pub fn try_recv(&mut self, timeout: Duration) -> Option<Seen> {
        self.try_recv_timed(timeout).map(|(_, s)| s)
    }

    /// Like `try_recv`, with the instant the reader thread decoded it.
    pub fn try_recv_timed(&mut self, timeout: Duration) -> Option<(Instant, Seen)> {
        if let Some(s) = self.pending.pop_front() {
            return Some(s);
        }
        match self.seen.recv_timeout(timeout) {
            Ok(batch) => {
                self.pending.extend(batch);
                self.pending.pop_front()
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some((Instant::now(), Seen::Closed)),
        }
    }

    /// Messages until (and including) the first one `stop` accepts.
    pub fn recv_until(&mut self, mut stop: impl FnMut(&ShellMsg) -> bool) -> Vec<ShellMsg> {
        let mut out = Vec::new();
        loop {
            let m = self.recv();
            let done = stop(&m);
            out.push(m);
            if done {
                return out;
            }
        }
    }

    /// Everything the child says until it closes stdout.
    pub fn recv_to_end(&mut self) -> Vec<ShellMsg> {
        let mut out = Vec::new();
        loop {
            match self.try_recv(RECV_TIMEOUT) {
                Some(Seen::Msg(m)) => out.push(m),
                Some(Seen::Closed) => return out,
                Some(Seen::Garbage(g)) => {
                    panic!("the child wrote something that is not a frame: {g}; stderr:\n{}", self.stderr())
                }
                None => panic!("the child did not close stdout within {RECV_TIMEOUT:?}; stderr:\n{}", self.stderr()),
            }
        }
    }

    /// Closes the child's stdin, as Storm does when the task ends.
    pub fn close_stdin(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
    }

    /// Waits for the child to exit (killing it after a minute).
    pub fn wait(&mut self) -> ExitStatus {
        self.close_stdin();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                if let Some(t) = self.stderr_thread.take() {
                    let _ = t.join();
                }
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the child did not exit within a minute after stdin closed; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// What the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the child used so far, from /proc.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
    }

    /// Resident memory of the child, in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.pid_dir);
    }
}

fn clock_ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux this runs on; getconf confirms it.
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A context as Storm's TopologyContext.toJSONString writes it.
pub fn context(task_id: i32, component: &str) -> Value {
    json!({
        "task->component": {"1": "source", "2": "__acker", task_id.to_string(): component},
        "taskid": task_id,
        "componentid": component,
        "streams": ["default"],
        "stream->outputfields": {"default": ["value"]},
        "stream->target->grouping": {},
        "source->stream->grouping": {"source": {"default": {"type": "SHUFFLE"}}},
        "source->stream->fields": {"source": {"default": ["value"]}},
    })
}

/// A conf with a few of Storm's defaults.
pub fn conf() -> Value {
    json!({"topology.name": "e2e", "topology.message.timeout.secs": 30, "storm.id": "e2e-1-1"})
}
