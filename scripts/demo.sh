#!/usr/bin/env bash
# The main job until the native worker exists: builds storm-wasm and the
# example plugins, then runs sentence spout → split → count through three
# real storm-wasm processes, with this repository's driver playing Storm.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || { echo "install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
scripts/build-plugins.sh
echo "==> building storm-wasm" >&2
cargo build --release --locked -p storm-wasm -p storm-wasm-tests >&2
target_dir="${CARGO_TARGET_DIR:-$root/target}"
export STORM_WASM_BIN="$target_dir/release/storm-wasm"
exec "$target_dir/release/storm-driver" demo "$@"
