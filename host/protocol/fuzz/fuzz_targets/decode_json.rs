#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::decode_all(storm_multilang::Serializer::Json, data));
