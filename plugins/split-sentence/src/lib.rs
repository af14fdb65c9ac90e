//! Splits each sentence into words: (sentence) -> (word) per word.
use storm_sdk::{Bolt, BoltOutput, Conf, Context, Result, Tuple};

struct SplitSentence;

impl Bolt for SplitSentence {
    fn prepare(_conf: &Conf, _context: &Context) -> Result<Self> {
        Ok(SplitSentence)
    }

    fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
        let (sentence,): (String,) = tuple.values()?;
        for word in sentence.split_whitespace() {
            out.emit(&(word,))?;
        }
        Ok(())
    }
}

storm_sdk::export_bolt!(SplitSentence);
