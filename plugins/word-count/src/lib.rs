//! Counts words: (word) -> (word, count), the running count in this task.
//! Use a fields grouping on "word" so each word always reaches the same task.
//! The counts survive a hot swap to a new version.
use std::collections::HashMap;

use storm_sdk::{Bolt, BoltOutput, Conf, Context, Result, Tuple};

struct WordCount {
    counts: HashMap<String, u64>,
}

impl Bolt for WordCount {
    fn prepare(_conf: &Conf, _context: &Context) -> Result<Self> {
        Ok(WordCount { counts: HashMap::new() })
    }

    fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
        let (word,): (String,) = tuple.values()?;
        let count = self.counts.entry(word.clone()).or_insert(0);
        *count += 1;
        out.emit(&(word, *count))
    }

    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        storm_sdk::state::save(&self.counts)
    }

    fn restore(&mut self, _from_version: &str, state: &[u8]) -> Result<()> {
        self.counts = storm_sdk::state::load(state)?;
        Ok(())
    }
}

storm_sdk::export_bolt!(WordCount);
