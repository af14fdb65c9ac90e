//! Apache Storm's multi-lang protocol as Storm 2.8 implements it: the messages
//! a ShellBolt or ShellSpout exchanges with its subprocess, the JSON and
//! MessagePack serializers, and the framing of each.
//!
//! Tuple values are always carried as **one MessagePack-encoded array**
//! ([`BoltTuple::values`], [`Emit::values`]): the MessagePack serializer slices
//! them out of the wire bytes without decoding them, the JSON serializer
//! transcodes them once. That is the representation storm-wasm hands to
//! plugins.
//!
//! ```
//! use storm_multilang::{Incoming, MessageReader, Serializer};
//! let wire = b"{\"comp\":\"spout\",\"tuple\":[\"a b\"],\"task\":5,\"stream\":\"default\",\"id\":\"-88\"}\nend\n";
//! let mut reader = MessageReader::new(&wire[..], Serializer::Json);
//! let Incoming::Tuple(t) = reader.next_message().unwrap() else { panic!() };
//! assert_eq!(t.id, "-88");
//! assert_eq!(t.values, b"\x91\xa3a b"); // MessagePack ["a b"]
//! ```
#![deny(missing_docs)]

mod error;
mod json;
mod message;
pub mod msgpack;
mod reader;
mod serializer;
pub mod storm_side;

pub use error::{DecodeError, ReadError};
pub use message::{BoltTuple, Emit, Handshake, Incoming, LogLevel, Outgoing, SpoutCommand};
pub use reader::{FrameReader, MessageReader, DEFAULT_MAX_MESSAGE_BYTES};
pub use serializer::{EncodeError, Serializer};
