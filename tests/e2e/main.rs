//! End-to-end tests: the real `storm-wasm` binary with the real example and
//! test plugins, driven by a harness that plays Storm's side of multi-lang.
//! Every test runs under both serializers.

mod bad_input;
mod bolt;
mod load;
mod python;
mod sandbox;
mod spout;
mod swap;
mod worker;

use storm_multilang::Serializer;

const SERIALIZERS: [Serializer; 2] = [Serializer::Json, Serializer::MessagePack];
