//! A spout version broken on purpose, for the rollback tests: it opens and
//! emits nothing, and panics on every ack and fail. Swapped in for a working
//! spout, its traps on verdicts roll the task back to the working version,
//! which must still get the verdict that trapped.
use storm_sdk::{Conf, Context, Result, Spout, SpoutOutput};

struct SpoutTrapOnAck;

impl Spout for SpoutTrapOnAck {
    fn open(_conf: &Conf, _context: &Context) -> Result<Self> {
        Ok(SpoutTrapOnAck)
    }

    fn next_tuple(&mut self, _out: &mut SpoutOutput) -> Result<()> {
        Ok(())
    }

    fn ack(&mut self, message_id: &str) {
        panic!("spout-trap-on-ack: broken on purpose (ack {message_id})");
    }

    fn fail(&mut self, message_id: &str) {
        panic!("spout-trap-on-ack: broken on purpose (fail {message_id})");
    }
}

storm_sdk::export_spout!(SpoutTrapOnAck);
