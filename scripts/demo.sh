#!/usr/bin/env bash
# The main job: builds storm-wasm and the example plugins, then runs the
# word-count topology (sentence spout -> split -> count, fields grouping on
# the word) on the native worker: one process, no JVM, Storm's semantics.
# Extra arguments go to `storm-wasm run` (default: --duration 20s).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || { echo "install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
scripts/build-plugins.sh
echo "==> building storm-wasm" >&2
cargo build --release --locked -p storm-wasm >&2
target_dir="${CARGO_TARGET_DIR:-$root/target}"
if [[ $# -eq 0 ]]; then
    set -- --duration 20s
fi
exec "$target_dir/release/storm-wasm" run examples/word-count.yaml "$@"
