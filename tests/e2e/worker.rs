//! The native worker (`storm-wasm run`): owned by the native worker work (issue 6).
