use std::any::Any;
use std::cell::RefCell;

use serde::Serialize;

use crate::__private::bindings::storm::plugin::spout_output as host;
use crate::__private::types;
use crate::tuple::encode;
use crate::{Conf, Context, Error, Result, DEFAULT_STREAM};

/// A spout: the source of a topology's tuples.
///
/// Storm calls `next_tuple` in a loop; each call may emit zero or more
/// tuples. A tuple emitted with a message id is tracked: when its tuple tree
/// completes Storm calls `ack` with that id, when it fails or times out,
/// `fail`. Replaying is the spout's job (typically: remember the failed id and
/// emit it again from `next_tuple`).
pub trait Spout: Sized + 'static {
    /// Builds the spout for one task. An error stops the task.
    fn open(conf: &Conf, context: &Context) -> Result<Self>;

    /// Emits the next tuples, if any. Return quickly when there is nothing:
    /// Storm's wait strategy calls again.
    fn next_tuple(&mut self, out: &mut SpoutOutput) -> Result<()>;

    /// The tuple tree of `message_id` completed.
    fn ack(&mut self, message_id: &str) {
        let _ = message_id;
    }

    /// The tuple tree of `message_id` failed or timed out.
    fn fail(&mut self, message_id: &str) {
        let _ = message_id;
    }

    /// The topology was activated (also once at start).
    fn activate(&mut self) {}

    /// The topology was deactivated: `next_tuple` is not called until it is
    /// activated again.
    fn deactivate(&mut self) {}

    /// The state to hand to the next version on a hot swap (for a reliable
    /// spout: the ids in flight, so their acks and fails are understood);
    /// `None` (the default) lets it start fresh.
    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    /// Takes over the previous version's state, after `open`.
    fn restore(&mut self, from_version: &str, state: &[u8]) -> Result<()> {
        let _ = (from_version, state);
        Ok(())
    }
}

/// How a spout emits.
pub struct SpoutOutput {
    _private: (),
}

impl SpoutOutput {
    /// Emits an untracked tuple on the default stream.
    pub fn emit<V: Serialize + ?Sized>(&mut self, values: &V) -> Result<()> {
        self.emit_to(DEFAULT_STREAM, None, values)
    }

    /// Emits a tuple tracked by `message_id` on the default stream.
    pub fn emit_tracked<V: Serialize + ?Sized>(&mut self, message_id: &str, values: &V) -> Result<()> {
        self.emit_to(DEFAULT_STREAM, Some(message_id), values)
    }

    /// Emits on `stream`, tracked when `message_id` is given.
    pub fn emit_to<V: Serialize + ?Sized>(&mut self, stream: &str, message_id: Option<&str>, values: &V) -> Result<()> {
        let bytes = encode(values)?;
        host::emit(stream, message_id, &bytes).map_err(Error::msg)
    }

    /// Emits and returns the tasks that received the tuple.
    pub fn emit_with_task_ids<V: Serialize + ?Sized>(
        &mut self,
        stream: &str,
        message_id: Option<&str>,
        values: &V,
    ) -> Result<Vec<i32>> {
        let bytes = encode(values)?;
        host::emit_with_task_ids(stream, message_id, &bytes).map_err(Error::msg)
    }

    /// Emits to one task of a direct stream.
    pub fn emit_direct<V: Serialize + ?Sized>(
        &mut self,
        task: i32,
        stream: &str,
        message_id: Option<&str>,
        values: &V,
    ) -> Result<()> {
        let bytes = encode(values)?;
        host::emit_direct(task, stream, message_id, &bytes).map_err(Error::msg)
    }
}

thread_local! {
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

fn with_spout<S: Spout, R>(f: impl FnOnce(&mut S) -> R) -> Option<R> {
    INSTANCE.with(|cell| cell.borrow_mut().as_mut().and_then(|s| s.downcast_mut::<S>()).map(f))
}

#[doc(hidden)]
pub fn spout_open<S: Spout>(conf: Vec<u8>, context: types::Context) -> std::result::Result<(), String> {
    let conf = Conf::decode(&conf).map_err(|e| e.to_string())?;
    let context = Context::new(context);
    let spout = S::open(&conf, &context).map_err(|e| e.to_string())?;
    INSTANCE.with(|i| *i.borrow_mut() = Some(Box::new(spout)));
    Ok(())
}

#[doc(hidden)]
pub fn spout_snapshot<S: Spout>() -> std::result::Result<Option<Vec<u8>>, String> {
    with_spout::<S, _>(|s| s.snapshot().map_err(|e| e.to_string())).unwrap_or(Ok(None))
}

#[doc(hidden)]
pub fn spout_restore<S: Spout>(from_version: &str, state: &[u8]) -> std::result::Result<(), String> {
    with_spout::<S, _>(|s| s.restore(from_version, state).map_err(|e| e.to_string()))
        .unwrap_or_else(|| Err("the spout was not opened".into()))
}

#[doc(hidden)]
pub fn spout_next_tuple<S: Spout>() -> std::result::Result<(), String> {
    with_spout::<S, _>(|s| s.next_tuple(&mut SpoutOutput { _private: () }).map_err(|e| e.to_string()))
        .unwrap_or_else(|| Err("the spout was not opened".to_string()))
}

#[doc(hidden)]
pub fn spout_ack<S: Spout>(message_id: String) {
    with_spout::<S, _>(|s| s.ack(&message_id));
}

#[doc(hidden)]
pub fn spout_fail<S: Spout>(message_id: String) {
    with_spout::<S, _>(|s| s.fail(&message_id));
}

#[doc(hidden)]
pub fn spout_activate<S: Spout>() {
    with_spout::<S, _>(|s| s.activate());
}

#[doc(hidden)]
pub fn spout_deactivate<S: Spout>() {
    with_spout::<S, _>(|s| s.deactivate());
}
