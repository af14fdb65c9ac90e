//! Encoding a plugin's state for a hot swap.
//!
//! ```ignore
//! fn snapshot(&self) -> Result<Option<Vec<u8>>> {
//!     storm_sdk::state::save(&self.counts)
//! }
//! fn restore(&mut self, _from_version: &str, state: &[u8]) -> Result<()> {
//!     self.counts = storm_sdk::state::load(state)?;
//!     Ok(())
//! }
//! ```
//!
//! The encoding is MessagePack with field names, so a new version can add a
//! field with `#[serde(default)]` and still read an old snapshot.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

/// Encodes `state` for [`Bolt::snapshot`](crate::Bolt::snapshot) or
/// [`Spout::snapshot`](crate::Spout::snapshot).
pub fn save<T: Serialize + ?Sized>(state: &T) -> Result<Option<Vec<u8>>> {
    rmp_serde::to_vec_named(state).map(Some).map_err(|e| Error::msg(format!("cannot encode the state: {e}")))
}

/// Decodes what [`save`] encoded.
pub fn load<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    rmp_serde::from_slice(bytes)
        .map_err(|e| Error::msg(format!("cannot decode the state as {}: {e}", std::any::type_name::<T>())))
}
