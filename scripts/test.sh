#!/usr/bin/env bash
# Runs every test of storm-wasm on a fresh machine: the protocol transcripts,
# the end-to-end tests of the real binary with the real plugins, and the Java
# side against Apache Storm in LocalCluster. Installs what it needs (the wasm
# target; Maven fetches Storm itself).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "storm-wasm tests need $1: $2" >&2; exit 1; }
}
need cargo "install Rust with rustup (https://rustup.rs)"
need rustup "install Rust with rustup (https://rustup.rs)"

echo "==> formatting"
cargo fmt --all --check
cargo fmt --all --check --manifest-path plugins/Cargo.toml
cargo fmt --all --check --manifest-path sdk/rust/Cargo.toml

scripts/build-plugins.sh

echo "==> building the host"
cargo build --release --locked -p storm-wasm -p storm-wasm-tests
target_dir="${CARGO_TARGET_DIR:-$root/target}"
export STORM_WASM_BIN="$target_dir/release/storm-wasm"
export STORM_WASM_PLUGINS="$root/target/plugins"
# Tests compile plugins into their own cache, not the user's.
export STORM_WASM_CACHE_DIR="$target_dir/test-compile-cache"

echo "==> Rust tests"
cargo test --release --locked --workspace

echo "==> Python SDK tests"
"$root/target/python-venv/bin/python" -m pytest -q "$root/sdk/python/tests"

echo "==> fuzzing both decoders (a short run; cargo fuzz on nightly)"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
fuzz_corpus="$target_dir/fuzz-corpus"
for fuzz_target in decode_json decode_msgpack; do
    mkdir -p "$fuzz_corpus/$fuzz_target"
    fuzz_log="$target_dir/fuzz-$fuzz_target.log"
    if ! CARGO_TARGET_DIR="$target_dir/fuzz" cargo +nightly fuzz run --fuzz-dir host/protocol/fuzz -O "$fuzz_target" \
        "$fuzz_corpus/$fuzz_target" "host/protocol/fuzz/seeds/$fuzz_target" -- \
        -max_total_time="${STORM_WASM_FUZZ_SECONDS:-15}" -max_len=4096 >"$fuzz_log" 2>&1; then
        tail -60 "$fuzz_log" >&2
        echo "fuzzing $fuzz_target failed (crash input under host/protocol/fuzz/artifacts/)" >&2
        exit 1
    fi
    echo "    $fuzz_target: $(grep -E '^Done' "$fuzz_log")"
done

if [[ -f "$root/tests/storm/pom.xml" ]]; then
    need mvn "install Maven and a JDK 17 (apt-get install maven openjdk-17-jdk)"
    echo "==> Storm LocalCluster tests (Java)"
    mvn -B -f "$root/tests/storm/pom.xml" verify
fi
echo "==> all tests passed"
