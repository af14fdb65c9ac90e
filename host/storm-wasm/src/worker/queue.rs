//! An executor's receive queue: bounded in tuples, so a slow consumer makes
//! its producers wait (backpressure) instead of growing without bound.
//!
//! Tuples move in batches under one lock, and a side is woken only when the
//! other waits: a futex wake per tuple would cost more than the tuple.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::tuple::Tuple;

/// What [`TaskQueue::pop`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Popped {
    /// This many tuples were appended to the output.
    Tuples(usize),
    /// Nothing arrived before the timeout.
    Timeout,
    /// Closed and empty: the executor stops.
    Closed,
}

#[derive(Default)]
struct State {
    items: VecDeque<Tuple>,
    /// Popped but not yet [`done`](TaskQueue::done): the executor is
    /// working on them (and may still emit).
    in_process: usize,
    closed: bool,
    consumer_waiting: bool,
    producers_waiting: usize,
    /// Producer time spent waiting for room, in total.
    blocked: Duration,
    peak: usize,
}

/// A bounded multi-producer, single-consumer queue of tuples.
pub struct TaskQueue {
    state: Mutex<State>,
    not_empty: Condvar,
    not_full: Condvar,
    capacity: usize,
}

impl TaskQueue {
    /// A queue that makes producers wait once it holds `capacity` tuples.
    pub fn new(capacity: usize) -> Self {
        TaskQueue {
            state: Mutex::new(State::default()),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The capacity in tuples.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends the whole batch once there is room (a batch may overshoot the
    /// capacity: it is never split). Waits while the queue is full, which is
    /// the backpressure; gives up, dropping the batch, when `abort` is set or
    /// the queue is closed. Returns whether the tuples were queued.
    pub fn push(&self, batch: &mut Vec<Tuple>, abort: &AtomicBool) -> bool {
        if batch.is_empty() {
            return true;
        }
        let mut s = self.lock();
        if s.items.len() >= self.capacity && !s.closed {
            let started = Instant::now();
            while s.items.len() >= self.capacity && !s.closed {
                if abort.load(Ordering::Relaxed) {
                    batch.clear();
                    return false;
                }
                s.producers_waiting += 1;
                s = self.not_full.wait_timeout(s, Duration::from_millis(50)).unwrap_or_else(|e| e.into_inner()).0;
                s.producers_waiting -= 1;
            }
            s.blocked += started.elapsed();
        }
        if s.closed {
            batch.clear();
            return false;
        }
        s.items.extend(batch.drain(..));
        s.peak = s.peak.max(s.items.len());
        if s.consumer_waiting {
            self.not_empty.notify_one();
        }
        true
    }

    /// Moves up to `max` tuples (and about `max_bytes` of values, always at
    /// least one tuple) into `out`, waiting up to `timeout` for the first.
    pub fn pop(&self, max: usize, max_bytes: usize, timeout: Duration, out: &mut Vec<Tuple>) -> Popped {
        let mut s = self.lock();
        if s.items.is_empty() {
            if s.closed {
                return Popped::Closed;
            }
            let deadline = Instant::now() + timeout;
            while s.items.is_empty() && !s.closed {
                let now = Instant::now();
                if now >= deadline {
                    return Popped::Timeout;
                }
                s.consumer_waiting = true;
                s = self.not_empty.wait_timeout(s, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
                s.consumer_waiting = false;
            }
            if s.items.is_empty() {
                return Popped::Closed;
            }
        }
        let mut n = 0;
        let mut bytes = 0;
        while n < max && (n == 0 || bytes < max_bytes) {
            let Some(t) = s.items.pop_front() else { break };
            bytes += t.values.len();
            out.push(t);
            n += 1;
        }
        s.in_process += n;
        if s.producers_waiting > 0 && s.items.len() < self.capacity {
            self.not_full.notify_all();
        }
        Popped::Tuples(n)
    }

    /// The executor finished `n` popped tuples (and queued what they emitted).
    pub fn done(&self, n: usize) {
        let mut s = self.lock();
        s.in_process -= n.min(s.in_process);
    }

    /// Tuples queued, and tuples queued or being worked on.
    pub fn depth(&self) -> (usize, usize) {
        let s = self.lock();
        (s.items.len(), s.items.len() + s.in_process)
    }

    /// The most tuples queued at once, and how long producers waited for room.
    pub fn pressure(&self) -> (usize, Duration) {
        let s = self.lock();
        (s.peak, s.blocked)
    }

    /// No more tuples: the consumer drains what is queued, then stops;
    /// waiting producers give up.
    pub fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tuple::{Payload, Roots};
    use super::*;

    fn tuple(n: i32) -> Tuple {
        Tuple { dest: n, source_task: 0, source: 0, stream: 0, values: Payload::Owned(vec![0x90]), roots: Roots::None }
    }

    #[test]
    fn full_queue_makes_the_producer_wait_and_loses_nothing() {
        let q = Arc::new(TaskQueue::new(4));
        let abort = Arc::new(AtomicBool::new(false));
        let producer = {
            let (q, abort) = (q.clone(), abort.clone());
            std::thread::spawn(move || {
                for i in 0..100 {
                    assert!(q.push(&mut vec![tuple(i)], &abort));
                }
                q.close();
            })
        };
        let mut got = Vec::new();
        loop {
            let mut out = Vec::new();
            match q.pop(3, usize::MAX, Duration::from_secs(5), &mut out) {
                Popped::Tuples(n) => {
                    assert!(q.depth().0 <= 4);
                    q.done(n);
                    got.extend(out.into_iter().map(|t| t.dest));
                    std::thread::sleep(Duration::from_micros(200));
                }
                Popped::Closed => break,
                Popped::Timeout => panic!("timed out"),
            }
        }
        producer.join().unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert!(q.pressure().1 > Duration::ZERO, "the producer never waited");
    }
}
