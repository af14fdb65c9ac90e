//! Storm's XOR acker. A spout tuple's tree is one 64-bit value: the spout
//! XORs in the edge id of every copy it sends, each bolt's ack XORs in the
//! edge of the input and of every tuple anchored to it. Every edge goes in
//! twice, so the value is 0 exactly when the whole tree is processed
//! (a false 0 has odds of 2^-64). Messages may arrive in any order: an ack
//! before the spout's init is kept until the init comes.
//!
//! Trees not complete within `topology.message.timeout.secs` fail, and the
//! spout replays them through its `fail`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

/// A message to the acker (Storm's `__ack_init`, `__ack_ack`, `__ack_fail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckerMsg {
    /// A spout task emitted a tracked tuple: the XOR of its copies' edges.
    Init { root: u64, val: u64, spout_task: i32 },
    /// A bolt acked an input of the tree.
    Ack { root: u64, val: u64 },
    /// A bolt failed an input of the tree.
    Fail { root: u64 },
}

/// What became of a tree, for its spout task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Fully processed.
    Acked,
    /// A bolt failed part of it.
    Failed,
    /// Not processed in time.
    TimedOut,
}

/// A verdict for a spout task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    /// The spout task.
    pub task: i32,
    /// The tree.
    pub root: u64,
    /// Its fate.
    pub verdict: Verdict,
}

#[derive(Default)]
struct InboxState {
    notes: VecDeque<Note>,
    waiting: bool,
    woken: bool,
}

/// A spout executor's inbox: verdicts from the acker (unbounded: the acker
/// must never wait on a spout that waits on a bolt that waits on the acker),
/// and wake-ups when the topology is activated, deactivated or stopped.
#[derive(Default)]
pub struct Inbox {
    state: Mutex<InboxState>,
    cv: Condvar,
}

impl Inbox {
    /// Delivers verdicts.
    pub fn push(&self, notes: impl IntoIterator<Item = Note>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.notes.extend(notes);
        if s.waiting {
            self.cv.notify_one();
        }
    }

    /// Makes a waiting [`wait`](Self::wait) return.
    pub fn wake(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.woken = true;
        self.cv.notify_one();
    }

    /// Moves every verdict into `out`.
    pub fn take(&self, out: &mut Vec<Note>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        out.extend(s.notes.drain(..));
    }

    /// Waits up to `timeout` for a verdict or a wake-up.
    pub fn wait(&self, timeout: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.notes.is_empty() && !s.woken {
            s.waiting = true;
            s = self.cv.wait_timeout(s, timeout).unwrap_or_else(|e| e.into_inner()).0;
            s.waiting = false;
        }
        s.woken = false;
    }
}

struct Tree {
    val: u64,
    /// 0 until the init arrives.
    spout_task: i32,
    failed: bool,
    deadline: Instant,
}

/// The acker's state; [`run`] drives it from a channel.
pub struct Acker {
    trees: FxHashMap<u64, Tree>,
    /// (deadline, root) in arrival order, hence in deadline order.
    expiry: VecDeque<(Instant, u64)>,
    timeout: Duration,
    /// Spout task id -> index into `inboxes`.
    inbox_of: Vec<usize>,
    inboxes: Vec<Arc<Inbox>>,
    out: Vec<Vec<Note>>,
}

impl Acker {
    /// An acker whose trees time out after `timeout`; `inbox_of[task]` is the
    /// inbox of a spout task.
    pub fn new(timeout: Duration, inbox_of: Vec<usize>, inboxes: Vec<Arc<Inbox>>) -> Self {
        let out = vec![Vec::new(); inboxes.len()];
        Acker { trees: FxHashMap::default(), expiry: VecDeque::new(), timeout, inbox_of, inboxes, out }
    }

    fn tree(&mut self, root: u64, now: Instant) -> &mut Tree {
        let (timeout, expiry) = (self.timeout, &mut self.expiry);
        self.trees.entry(root).or_insert_with(|| {
            let deadline = now + timeout;
            expiry.push_back((deadline, root));
            Tree { val: 0, spout_task: 0, failed: false, deadline }
        })
    }

    fn verdict(&mut self, task: i32, root: u64, verdict: Verdict) {
        if let Some(&inbox) = self.inbox_of.get(task as usize) {
            self.out[inbox].push(Note { task, root, verdict });
        }
    }

    /// Applies one message.
    pub fn handle(&mut self, msg: AckerMsg, now: Instant) {
        let (root, tree) = match msg {
            AckerMsg::Init { root, val, spout_task } => {
                let tree = self.tree(root, now);
                tree.val ^= val;
                tree.spout_task = spout_task;
                (root, tree)
            }
            AckerMsg::Ack { root, val } => {
                let tree = self.tree(root, now);
                tree.val ^= val;
                (root, tree)
            }
            AckerMsg::Fail { root } => {
                let tree = self.tree(root, now);
                tree.failed = true;
                (root, tree)
            }
        };
        if tree.spout_task == 0 || !(tree.failed || tree.val == 0) {
            return;
        }
        let (task, failed) = (tree.spout_task, tree.failed);
        self.trees.remove(&root);
        self.verdict(task, root, if failed { Verdict::Failed } else { Verdict::Acked });
    }

    /// Fails the trees whose time is up.
    pub fn expire(&mut self, now: Instant) {
        while let Some(&(deadline, root)) = self.expiry.front() {
            if deadline > now {
                break;
            }
            self.expiry.pop_front();
            // The entry may be gone, or a newer one for the same root.
            if self.trees.get(&root).is_some_and(|t| t.deadline == deadline) {
                let tree = self.trees.remove(&root).expect("present");
                if tree.spout_task != 0 {
                    self.verdict(tree.spout_task, root, Verdict::TimedOut);
                }
            }
        }
    }

    /// Hands the verdicts to the spout executors.
    pub fn flush(&mut self) {
        for (inbox, notes) in self.out.iter_mut().enumerate() {
            if !notes.is_empty() {
                self.inboxes[inbox].push(notes.drain(..));
            }
        }
    }

    /// Trees being tracked.
    pub fn len(&self) -> usize {
        self.trees.len()
    }
}

/// Runs an acker until every sender is gone. `tracked` shows how many
/// trees it holds.
pub fn run(mut acker: Acker, messages: Receiver<Vec<AckerMsg>>, tracked: Arc<AtomicUsize>) {
    // Timeouts are checked at least this often: a tenth of the timeout,
    // within [10 ms, 1 s].
    let sweep = (acker.timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut next_sweep = Instant::now() + sweep;
    loop {
        match messages.recv_timeout(sweep) {
            Ok(batch) => {
                let now = Instant::now();
                for msg in batch {
                    acker.handle(msg, now);
                }
                // Drain what else is waiting before waking the spouts.
                while let Ok(batch) = messages.try_recv() {
                    for msg in batch {
                        acker.handle(msg, now);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if now >= next_sweep {
            acker.expire(now);
            next_sweep = now + sweep;
        }
        acker.flush();
        tracked.store(acker.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acker() -> (Acker, Arc<Inbox>) {
        let inbox = Arc::new(Inbox::default());
        (Acker::new(Duration::from_secs(30), vec![usize::MAX, 0], vec![inbox.clone()]), inbox)
    }

    fn notes(acker: &mut Acker, inbox: &Inbox) -> Vec<(u64, Verdict)> {
        acker.flush();
        let mut out = Vec::new();
        inbox.take(&mut out);
        out.into_iter().map(|n| (n.root, n.verdict)).collect()
    }

    #[test]
    fn a_tree_completes_when_every_edge_is_acked_in_any_order() {
        let (mut a, inbox) = acker();
        let now = Instant::now();
        // spout -> e1, e2; bolt acks e1 emitting e3 anchored; e2 and e3 acked.
        let (e1, e2, e3) = (0x1111, 0x2222, 0x4444);
        a.handle(AckerMsg::Ack { root: 7, val: e3 }, now); // before the init
        a.handle(AckerMsg::Init { root: 7, val: e1 ^ e2, spout_task: 1 }, now);
        a.handle(AckerMsg::Ack { root: 7, val: e1 ^ e3 }, now);
        assert_eq!(notes(&mut a, &inbox), []);
        a.handle(AckerMsg::Ack { root: 7, val: e2 }, now);
        assert_eq!(notes(&mut a, &inbox), [(7, Verdict::Acked)]);
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn fails_and_timeouts_reach_the_spout_once() {
        let (mut a, inbox) = acker();
        let now = Instant::now();
        a.handle(AckerMsg::Fail { root: 8 }, now);
        a.handle(AckerMsg::Init { root: 8, val: 5, spout_task: 1 }, now);
        a.handle(AckerMsg::Init { root: 9, val: 5, spout_task: 1 }, now);
        assert_eq!(notes(&mut a, &inbox), [(8, Verdict::Failed)]);
        a.expire(now + Duration::from_secs(29));
        assert_eq!(notes(&mut a, &inbox), []);
        a.expire(now + Duration::from_secs(31));
        assert_eq!(notes(&mut a, &inbox), [(9, Verdict::TimedOut)]);
        // A late ack makes an orphan entry that expires silently.
        a.handle(AckerMsg::Ack { root: 9, val: 5 }, now + Duration::from_secs(32));
        a.expire(now + Duration::from_secs(70));
        assert_eq!(notes(&mut a, &inbox), []);
        assert_eq!(a.len(), 0);
    }
}
