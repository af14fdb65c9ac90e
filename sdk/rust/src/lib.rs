//! Write Apache Storm spouts and bolts in Rust and run them, sandboxed, under
//! [storm-wasm](https://example.invalid/storm-wasm).
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2`. It implements
//! [`Bolt`] or [`Spout`] and exports the type with [`export_bolt!`] or
//! [`export_spout!`]:
//!
//! ```ignore
//! use storm_sdk::{Bolt, BoltOutput, Conf, Context, Result, Tuple};
//!
//! struct SplitSentence;
//!
//! impl Bolt for SplitSentence {
//!     fn prepare(_conf: &Conf, _context: &Context) -> Result<Self> {
//!         Ok(SplitSentence)
//!     }
//!     fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
//!         let (sentence,): (String,) = tuple.values()?;
//!         for word in sentence.split_whitespace() {
//!             out.emit((word,))?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! storm_sdk::export_bolt!(SplitSentence);
//! ```
//!
//! The defaults are pystorm's: each emit is anchored to the tuple being
//! executed, the tuple is acked when `execute` returns `Ok` and failed when it
//! returns `Err`. [`Bolt::AUTO_ACK`], [`Bolt::AUTO_ANCHOR`] and
//! [`Bolt::AUTO_FAIL`] turn them off; [`BoltOutput`] has the explicit calls.
//!
//! Values are encoded with serde as one MessagePack array per tuple: emit a
//! Rust tuple or a struct (its fields in declaration order), and read values
//! back the same way with [`Tuple::values`].
//!
//! storm-wasm swaps a plugin for a new version while the topology runs. A
//! bolt or spout that implements `snapshot` and `restore` (with the helpers
//! in [`state`]) hands its state to the new version; one that does not
//! starts fresh.
#![deny(missing_docs)]

mod bolt;
mod conf;
mod error;
mod log;
mod spout;
pub mod state;
mod tuple;

pub use bolt::{Bolt, BoltOutput};
pub use conf::{Conf, Context};
pub use error::{Error, Result};
pub use log::{log, metric, report_error, Level};
pub use rmpv::Value;
pub use spout::{Spout, SpoutOutput};
pub use storm_sdk_macros::{export_bolt, export_spout};
pub use tuple::{Tuple, DEFAULT_STREAM};

/// Returns early with an [`Error`] built from a format string, like
/// `anyhow::bail!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return ::std::result::Result::Err($crate::Error::msg(::std::format!($($arg)*)))
    };
}

/// Used by the export macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bolt::{bolt_execute, bolt_prepare, bolt_restore, bolt_snapshot};
    pub use crate::spout::{
        spout_ack, spout_activate, spout_deactivate, spout_fail, spout_next_tuple, spout_open, spout_restore,
        spout_snapshot,
    };
    pub use wit_bindgen;

    /// Import bindings for every interface the host provides; the export macros
    /// reuse them through wit-bindgen's `with`.
    pub mod bindings {
        wit_bindgen::generate!({
            world: "guest-imports",
            path: "../../wit",
            runtime_path: "crate::__private::wit_bindgen::rt",
        });
    }
    pub use bindings::storm::plugin::types;
}
