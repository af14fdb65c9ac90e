//! A reliable sentence spout: emits the classic storm-starter sentences with
//! message ids and replays failed ids up to a limit.
//!
//! Conf keys:
//! - `sentence.spout.limit` (int, optional): emit only this many messages.
//! - `sentence.spout.max.replays` (int, default 3): replays per failed id.
//!
//! Message `i` carries sentence `i % 5` and the id `"<i>"`. When all `limit`
//! messages are acked it logs `all <limit> messages acked`. Its ids in flight
//! survive a hot swap, so acks of tuples the old version emitted still count.
use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use storm_sdk::{info, warn, Conf, Context, Result, Spout, SpoutOutput};

const SENTENCES: [&str; 5] = [
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
    "i am at two with nature",
];

#[derive(Serialize, Deserialize)]
struct SentenceSpout {
    next: u64,
    #[serde(skip)]
    limit: Option<u64>,
    #[serde(skip)]
    max_replays: u32,
    /// Emitted, not yet acked: id -> replays so far.
    in_flight: HashMap<u64, u32>,
    to_replay: VecDeque<u64>,
    acked: u64,
    gave_up: u64,
}

impl Spout for SentenceSpout {
    fn open(conf: &Conf, _context: &Context) -> Result<Self> {
        Ok(SentenceSpout {
            next: 0,
            limit: conf.get("sentence.spout.limit")?,
            max_replays: conf.get_or("sentence.spout.max.replays", 3)?,
            in_flight: HashMap::new(),
            to_replay: VecDeque::new(),
            acked: 0,
            gave_up: 0,
        })
    }

    fn next_tuple(&mut self, out: &mut SpoutOutput) -> Result<()> {
        let id = if let Some(id) = self.to_replay.pop_front() {
            id
        } else if self.limit.is_none_or(|limit| self.next < limit) {
            let id = self.next;
            self.next += 1;
            self.in_flight.insert(id, 0);
            id
        } else {
            return Ok(());
        };
        let sentence = SENTENCES[(id % SENTENCES.len() as u64) as usize];
        out.emit_tracked(&id.to_string(), &(sentence,))
    }

    fn ack(&mut self, message_id: &str) {
        let Ok(id) = message_id.parse::<u64>() else { return };
        if self.in_flight.remove(&id).is_some() {
            self.acked += 1;
            if Some(self.acked + self.gave_up) == self.limit && self.gave_up == 0 {
                info!("all {} messages acked", self.acked);
            }
        }
    }

    fn fail(&mut self, message_id: &str) {
        let Ok(id) = message_id.parse::<u64>() else { return };
        let Some(replays) = self.in_flight.get_mut(&id) else { return };
        if *replays < self.max_replays {
            *replays += 1;
            self.to_replay.push_back(id);
        } else {
            self.in_flight.remove(&id);
            self.gave_up += 1;
            warn!("message {id} failed {} times; giving up on it", self.max_replays + 1);
        }
    }

    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        storm_sdk::state::save(self)
    }

    fn restore(&mut self, _from_version: &str, state: &[u8]) -> Result<()> {
        let old: SentenceSpout = storm_sdk::state::load(state)?;
        // Limits come from this version's conf; progress from the old one.
        *self = SentenceSpout { limit: self.limit, max_replays: self.max_replays, ..old };
        Ok(())
    }
}

storm_sdk::export_spout!(SentenceSpout);
