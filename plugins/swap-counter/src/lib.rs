// A word counter for the hot-swap tests: (word) -> (word, count, version),
// with its counts carried across swaps. The same source builds three
// packages (swap-counter 1.0.0, swap-counter-v2 2.0.0, and
// swap-counter-trap 3.0.0, which panics on every tuple), so a test can swap
// between versions whose output tells them apart.
use std::collections::HashMap;

use storm_sdk::{Bolt, BoltOutput, Conf, Context, Result, Tuple};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TRAPS: bool = matches!(env!("CARGO_PKG_NAME").as_bytes(), b"swap_counter_trap");

struct SwapCounter {
    counts: HashMap<String, u64>,
}

impl Bolt for SwapCounter {
    fn prepare(_conf: &Conf, _context: &Context) -> Result<Self> {
        Ok(SwapCounter { counts: HashMap::new() })
    }

    fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
        if TRAPS {
            panic!("swap-counter {VERSION}: broken on purpose");
        }
        let (word,): (String,) = tuple.values()?;
        let count = self.counts.entry(word.clone()).or_insert(0);
        *count += 1;
        out.emit(&(word, *count, VERSION))
    }

    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        storm_sdk::state::save(&self.counts)
    }

    fn restore(&mut self, _from_version: &str, state: &[u8]) -> Result<()> {
        self.counts = storm_sdk::state::load(state)?;
        Ok(())
    }
}

storm_sdk::export_bolt!(SwapCounter);
