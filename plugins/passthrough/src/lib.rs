//! Emits every input's values unchanged, anchored, and acks: the cheapest
//! possible bolt, used to measure the host's own cost per tuple.
use storm_sdk::{Bolt, BoltOutput, Conf, Context, Result, Tuple, DEFAULT_STREAM};

struct Passthrough;

impl Bolt for Passthrough {
    fn prepare(_conf: &Conf, _context: &Context) -> Result<Self> {
        Ok(Passthrough)
    }

    fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
        out.emit_raw(DEFAULT_STREAM, tuple.raw_values())
    }
}

storm_sdk::export_bolt!(Passthrough);
