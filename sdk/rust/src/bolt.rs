use std::any::Any;
use std::cell::RefCell;

use serde::Serialize;

use crate::__private::bindings::storm::plugin::bolt_output as host;
use crate::__private::types::{self, Outcome};
use crate::tuple::encode;
use crate::{Conf, Context, Error, Result, Tuple, DEFAULT_STREAM};

/// A bolt: consumes tuples, emits tuples.
///
/// One instance runs per Storm task. `execute` is called for each input in
/// arrival order (the host hands tuples over in batches; that is invisible
/// here except that the acks of a batch follow all of its emits).
pub trait Bolt: Sized + 'static {
    /// Ack each tuple when `execute` returns `Ok` (pystorm's `auto_ack`).
    /// With `false`, a tuple that `execute` neither acks nor fails through
    /// [`BoltOutput`] stays in flight until the bolt acks it later.
    const AUTO_ACK: bool = true;
    /// Anchor emits to the tuple being executed (pystorm's `auto_anchor`).
    const AUTO_ANCHOR: bool = true;
    /// Fail the tuple when `execute` returns `Err` (pystorm's `auto_fail`).
    /// With `false` the error is only logged.
    const AUTO_FAIL: bool = true;

    /// Builds the bolt for one task. An error stops the task.
    fn prepare(conf: &Conf, context: &Context) -> Result<Self>;

    /// Processes one tuple.
    fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()>;

    /// Processes a tick tuple (`topology.tick.tuple.freq.secs`). Ticks are
    /// always acked. The default does nothing.
    fn tick(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
        let _ = (tuple, out);
        Ok(())
    }

    /// The state to hand to the next version on a hot swap
    /// ([`state::save`](crate::state::save)); `None` (the default) lets it
    /// start fresh. Called between batches.
    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    /// Takes over the previous version's state, after `prepare`
    /// ([`state::load`](crate::state::load)). An error keeps the old version
    /// running. The default ignores it.
    fn restore(&mut self, from_version: &str, state: &[u8]) -> Result<()> {
        let _ = (from_version, state);
        Ok(())
    }
}

/// How a bolt emits, anchors, acks and fails. `execute` receives one bound to
/// the tuple being executed, which is what "current tuple" means below.
pub struct BoltOutput<'a> {
    current: &'a str,
    /// The current tuple's id when auto-anchoring, else empty.
    anchors: Vec<String>,
    resolved: bool,
    kept: bool,
}

impl<'a> BoltOutput<'a> {
    /// Emits `values` on the default stream (anchored to the current tuple
    /// unless `AUTO_ANCHOR` is off).
    pub fn emit<V: Serialize + ?Sized>(&mut self, values: &V) -> Result<()> {
        self.emit_to(DEFAULT_STREAM, values)
    }

    /// Emits `values` on `stream`.
    pub fn emit_to<V: Serialize + ?Sized>(&mut self, stream: &str, values: &V) -> Result<()> {
        let bytes = encode(values)?;
        host::emit(stream, self.default_anchors(), &bytes).map_err(Error::msg)
    }

    /// Emits `values` on `stream` anchored to exactly `anchors` (tuple ids of
    /// inputs still in flight; empty for an unanchored emit).
    pub fn emit_anchored<V: Serialize + ?Sized>(&mut self, stream: &str, anchors: &[&str], values: &V) -> Result<()> {
        let bytes = encode(values)?;
        let anchors: Vec<String> = anchors.iter().map(|a| a.to_string()).collect();
        host::emit(stream, &anchors, &bytes).map_err(Error::msg)
    }

    /// Emits values that are already one MessagePack array (for instance
    /// [`Tuple::raw_values`] of an input), without decoding them.
    pub fn emit_raw(&mut self, stream: &str, values: &[u8]) -> Result<()> {
        crate::tuple::check_list(values)?;
        host::emit(stream, self.default_anchors(), values).map_err(Error::msg)
    }

    /// Emits and waits for Storm to name the tasks that received the tuple.
    /// This costs a round trip to Storm for each call.
    pub fn emit_with_task_ids<V: Serialize + ?Sized>(&mut self, stream: &str, values: &V) -> Result<Vec<i32>> {
        let bytes = encode(values)?;
        host::emit_with_task_ids(stream, self.default_anchors(), &bytes).map_err(Error::msg)
    }

    /// Emits to one task of a direct stream.
    pub fn emit_direct<V: Serialize + ?Sized>(&mut self, task: i32, stream: &str, values: &V) -> Result<()> {
        let bytes = encode(values)?;
        host::emit_direct(task, stream, self.default_anchors(), &bytes).map_err(Error::msg)
    }

    /// Acks a tuple by id: the current one, or one kept from an earlier call.
    pub fn ack(&mut self, id: &str) -> Result<()> {
        host::ack(id).map_err(Error::msg)?;
        if id == self.current {
            self.resolved = true;
        }
        Ok(())
    }

    /// Fails a tuple by id: the current one, or one kept from an earlier call.
    pub fn fail(&mut self, id: &str) -> Result<()> {
        host::fail(id).map_err(Error::msg)?;
        if id == self.current {
            self.resolved = true;
        }
        Ok(())
    }

    /// Keeps the current tuple in flight after `execute` returns, even with
    /// `AUTO_ACK` on: the bolt acks or fails it later by id (batching bolts).
    pub fn keep(&mut self) {
        self.kept = true;
    }

    /// The id of the tuple being executed.
    pub fn current_id(&self) -> &str {
        self.current
    }

    fn default_anchors(&self) -> &[String] {
        &self.anchors
    }
}

thread_local! {
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

#[doc(hidden)]
pub fn bolt_prepare<B: Bolt>(conf: Vec<u8>, context: types::Context) -> std::result::Result<(), String> {
    let conf = Conf::decode(&conf).map_err(|e| e.to_string())?;
    let context = Context::new(context);
    let bolt = B::prepare(&conf, &context).map_err(|e| e.to_string())?;
    INSTANCE.with(|i| *i.borrow_mut() = Some(Box::new(bolt)));
    Ok(())
}

#[doc(hidden)]
pub fn bolt_snapshot<B: Bolt>() -> std::result::Result<Option<Vec<u8>>, String> {
    INSTANCE.with(|cell| match cell.borrow().as_ref().and_then(|b| b.downcast_ref::<B>()) {
        Some(bolt) => bolt.snapshot().map_err(|e| e.to_string()),
        None => Ok(None),
    })
}

#[doc(hidden)]
pub fn bolt_restore<B: Bolt>(from_version: &str, state: &[u8]) -> std::result::Result<(), String> {
    INSTANCE.with(|cell| match cell.borrow_mut().as_mut().and_then(|b| b.downcast_mut::<B>()) {
        Some(bolt) => bolt.restore(from_version, state).map_err(|e| e.to_string()),
        None => Err("the bolt was not prepared".into()),
    })
}

#[doc(hidden)]
pub fn bolt_execute<B: Bolt>(batch: Vec<types::Input>) -> Vec<Outcome> {
    INSTANCE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let Some(bolt) = guard.as_mut().and_then(|b| b.downcast_mut::<B>()) else {
            let reason = "the bolt was not prepared".to_string();
            return batch.iter().map(|_| Outcome::Fail(reason.clone())).collect();
        };
        batch.into_iter().map(|input| execute_one(bolt, Tuple::new(input))).collect()
    })
}

fn execute_one<B: Bolt>(bolt: &mut B, tuple: Tuple) -> Outcome {
    let tick = tuple.is_tick();
    let anchors = if B::AUTO_ANCHOR { vec![tuple.id().to_string()] } else { Vec::new() };
    let mut out = BoltOutput { current: tuple.id(), anchors, resolved: false, kept: false };
    let result = if tick { bolt.tick(&tuple, &mut out) } else { bolt.execute(&tuple, &mut out) };
    let (resolved, kept) = (out.resolved, out.kept);
    match result {
        // Already acked or failed through BoltOutput: the host knows.
        _ if resolved => Outcome::Pending,
        // Storm keeps every tick in its pending map until acked.
        Ok(()) if tick => Outcome::Ack,
        Ok(()) if kept || !B::AUTO_ACK => Outcome::Pending,
        Ok(()) => Outcome::Ack,
        Err(e) if tick => {
            crate::log(crate::Level::Error, &format!("tick failed: {e}"));
            Outcome::Ack
        }
        Err(e) if B::AUTO_FAIL => Outcome::Fail(e.to_string()),
        Err(e) => {
            crate::log(crate::Level::Error, &format!("tuple {} failed: {e}", tuple.id()));
            if kept || !B::AUTO_ACK {
                Outcome::Pending
            } else {
                Outcome::Ack
            }
        }
    }
}
