use serde::de::DeserializeOwned;

use crate::__private::types::Input;
use crate::{Error, Result, Value};

/// Storm's default stream id.
pub const DEFAULT_STREAM: &str = "default";

/// A tuple delivered to a bolt.
pub struct Tuple {
    input: Input,
}

impl Tuple {
    pub(crate) fn new(input: Input) -> Self {
        Tuple { input }
    }

    /// Storm's id for this tuple (ack, fail and anchor with it).
    pub fn id(&self) -> &str {
        &self.input.id
    }

    /// The component that emitted it (`__system` for tick tuples).
    pub fn source_component(&self) -> &str {
        &self.input.source_component
    }

    /// The task that emitted it (-1 for tick tuples).
    pub fn source_task(&self) -> i32 {
        self.input.source_task
    }

    /// The stream it arrived on.
    pub fn stream(&self) -> &str {
        &self.input.stream_id
    }

    /// Whether this is a tick tuple (`topology.tick.tuple.freq.secs`).
    pub fn is_tick(&self) -> bool {
        self.input.stream_id == "__tick" && self.input.source_task == -1
    }

    /// Decodes the values into `T`: a Rust tuple such as `(String, u64)`, a
    /// struct deriving `Deserialize` (fields in order), or `Vec<Value>`.
    pub fn values<T: DeserializeOwned>(&self) -> Result<T> {
        rmp_serde::from_slice(&self.input.values).map_err(|e| {
            Error::msg(format!(
                "cannot decode the values of tuple {} from {}/{} as {}: {e}",
                self.input.id,
                self.input.source_component,
                self.input.stream_id,
                std::any::type_name::<T>()
            ))
        })
    }

    /// The values as dynamic MessagePack values.
    pub fn value_list(&self) -> Result<Vec<Value>> {
        self.values()
    }

    /// The values exactly as they crossed the boundary: one MessagePack array.
    pub fn raw_values(&self) -> &[u8] {
        &self.input.values
    }
}

impl std::fmt::Debug for Tuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let values: std::result::Result<Vec<Value>, _> = rmp_serde::from_slice(&self.input.values);
        f.debug_struct("Tuple")
            .field("id", &self.input.id)
            .field("source_component", &self.input.source_component)
            .field("source_task", &self.input.source_task)
            .field("stream", &self.input.stream_id)
            .field("values", &values.map_err(|e| e.to_string()))
            .finish()
    }
}

pub(crate) fn encode<V: serde::Serialize + ?Sized>(values: &V) -> Result<Vec<u8>> {
    let bytes = rmp_serde::to_vec(values).map_err(|e| Error::msg(format!("cannot encode the values to emit: {e}")))?;
    check_list(&bytes)?;
    Ok(bytes)
}

/// Storm's tuples are lists: a scalar would arrive as garbage at the next
/// bolt, so refuse it here where the plugin author can see the cause.
pub(crate) fn check_list(bytes: &[u8]) -> Result<()> {
    match bytes.first() {
        Some(0x90..=0x9f) | Some(0xdc) | Some(0xdd) => Ok(()),
        _ => Err(Error::msg("emitted values must serialize to a list: emit a tuple such as `(word,)` or a struct")),
    }
}
