//! Counts words: (word) -> (word, count), the running count in this task.
//! Use a fields grouping on "word" so each word always reaches the same task.
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
}

storm_sdk::export_bolt!(WordCount);
