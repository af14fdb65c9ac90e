//! Apache Storm's side of the multi-lang protocol, played against a real
//! subprocess: the end-to-end tests, the load driver (`storm-driver bench`)
//! and the demo (`storm-driver demo`) are built on it.

pub mod child;
pub mod coldstart;
pub mod conn;
pub mod demo;
pub mod driver;
pub mod flight;
pub mod native_bolt;
pub mod shell;
pub mod suite;
pub mod swap_latency;
pub mod sys;
pub mod wire;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the repository").to_path_buf()
}

/// The `storm-wasm` binary: `$STORM_WASM_BIN`, else next to this program in
/// the same cargo target directory.
pub fn host_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("STORM_WASM_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the current executable has a path");
    // target/<profile>/deps/<test> or target/<profile>/<bin>
    let mut dir = exe.parent().expect("an executable lives in a directory");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("deps has a parent");
    }
    let bin = dir.join("storm-wasm");
    assert!(
        bin.exists(),
        "{} does not exist: build the host first (`cargo build --release -p storm-wasm`; scripts/test.sh does it) or set STORM_WASM_BIN",
        bin.display()
    );
    bin
}

/// An example or test plugin, built by `scripts/build-plugins.sh` into
/// `target/plugins/<name>.wasm` (or `$STORM_WASM_PLUGINS/<name>.wasm`).
pub fn plugin(name: &str) -> PathBuf {
    let dir =
        std::env::var_os("STORM_WASM_PLUGINS").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/plugins"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "{} does not exist: run scripts/build-plugins.sh first", path.display());
    path
}

/// MessagePack bytes of a JSON value (tuple values are written this way).
pub fn msgpack(value: &serde_json::Value) -> Vec<u8> {
    rmp_serde::to_vec(value).expect("a JSON value encodes")
}

/// A JSON value of MessagePack bytes (for assertions).
pub fn json_of(msgpack: &[u8]) -> serde_json::Value {
    rmp_serde::from_slice(msgpack).expect("valid MessagePack")
}

/// `wasm` with a custom section holding `tag` appended: the same code under
/// another content hash (a new version as far as a watcher can tell).
pub fn with_custom_section(wasm: &[u8], tag: &str) -> Vec<u8> {
    let name = b"storm-wasm-test";
    let payload = tag.as_bytes();
    let mut out = wasm.to_vec();
    out.push(0); // a custom section
    out.push((1 + name.len() + payload.len()) as u8); // its size (one LEB128 byte)
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(payload);
    out
}
