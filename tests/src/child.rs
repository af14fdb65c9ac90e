//! A multi-lang subprocess as the load driver runs it: raw non-blocking
//! pipes (no reader thread, see `sys`), stderr drained aside, and what
//! `/proc` says about its CPU time and memory.
//!
//! `shell::Shell` is the test harness's view of a child (a reader thread
//! that decodes everything into owned messages); this one hands the bytes
//! to the caller.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::sys;

/// A running child with non-blocking stdin and stdout.
pub struct Proc {
    child: Child,
    /// Storm's end of the child's stdin; `None` once closed.
    pub stdin: Option<ChildStdin>,
    /// Storm's end of the child's stdout.
    pub stdout: ChildStdout,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_thread: Option<JoinHandle<()>>,
    /// The pid directory handed over in the handshake.
    pub pid_dir: PathBuf,
    /// When `spawn` was called (cold-start measurements start here).
    pub started: Instant,
}

impl Proc {
    /// Starts `program args…` with piped stdio.
    pub fn spawn(program: &Path, args: &[String]) -> std::io::Result<Proc> {
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        sys::set_nonblocking(&stdin)?;
        sys::set_nonblocking(&stdout)?;
        let mut pipe = child.stderr.take().expect("piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        // stderr is rare and small: a blocking thread is simplest and costs
        // nothing while the child is quiet.
        let stderr_thread = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        let pid_dir = std::env::temp_dir().join(format!("storm-driver-pids-{}-{}", std::process::id(), child.id()));
        std::fs::create_dir_all(&pid_dir)?;
        Ok(Proc { child, stdin: Some(stdin), stdout, stderr, stderr_thread: Some(stderr_thread), pid_dir, started })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes the child's stdin, as Storm does when the task ends.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the child to exit, killing it after `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        self.close_stdin();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().ok()? {
                if let Some(t) = self.stderr_thread.take() {
                    let _ = t.join();
                }
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// What the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// A snapshot of the child's CPU time, for [`CpuSnapshot::since`].
    pub fn cpu(&self) -> CpuSnapshot {
        CpuSnapshot::of(self.pid())
    }

    /// Resident memory of the child, in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        rss_bytes(self.pid())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.pid_dir);
    }
}

/// CPU time of a process, two ways: per thread in nanoseconds
/// (`/proc/<pid>/task/*/schedstat`, precise) and for the whole process in
/// clock ticks (`/proc/<pid>/stat`, 10 ms steps but it keeps the time of
/// threads that exited). A few hundred thousand tuples at well under a
/// microsecond each are a few hundred ms, so ticks alone would be ±5 %.
#[derive(Clone, Debug, Default)]
pub struct CpuSnapshot {
    threads: HashMap<u32, u64>,
    ticks: Option<u64>,
}

impl CpuSnapshot {
    /// Reads the snapshot of `pid` now.
    pub fn of(pid: u32) -> CpuSnapshot {
        let mut threads = HashMap::new();
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for entry in dir.flatten() {
                let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else { continue };
                if let Some(ns) = schedstat_ns(&entry.path().join("schedstat")) {
                    threads.insert(tid, ns);
                }
            }
        }
        CpuSnapshot { threads, ticks: stat_ticks(pid) }
    }

    /// CPU time between `earlier` and this snapshot.
    pub fn since(&self, earlier: &CpuSnapshot) -> Option<Duration> {
        let all_threads_stayed = earlier.threads.keys().all(|t| self.threads.contains_key(t));
        if all_threads_stayed && !self.threads.is_empty() {
            let ns: u64 = self.threads.iter().map(|(t, ns)| ns - earlier.threads.get(t).copied().unwrap_or(0)).sum();
            return Some(Duration::from_nanos(ns));
        }
        // A thread exited in between: only the process total still has its time.
        let ticks = self.ticks?.checked_sub(earlier.ticks?)?;
        Some(Duration::from_secs_f64(ticks as f64 / 100.0))
    }
}

/// This thread's CPU time (the driver measures its own cost with it).
pub fn thread_cpu() -> Option<Duration> {
    schedstat_ns(Path::new("/proc/thread-self/schedstat")).map(Duration::from_nanos)
}

fn schedstat_ns(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.split_whitespace().next()?.parse().ok()
}

/// utime + stime in clock ticks. USER_HZ is 100 on every Linux this runs on.
fn stat_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// VmRSS of `pid`, in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}
