#!/usr/bin/env bash
# The benchmark suite, in one command:
#
#     bench/run.sh            # full run, ~5 min on 2 cores (once everything is built)
#     bench/run.sh --quick    # a tenth of the tuples, one round: a smoke test
#
# It builds what it needs (the plugins, storm-wasm and storm-driver, in
# release), installs pystorm and matplotlib into target/bench-venv, runs
# `storm-driver suite` (every scenario, interleaved in rounds so the ratios
# are measured side by side), and regenerates docs/benchmarks/README.md,
# results.json and throughput.png. Other arguments go to `storm-driver
# suite` (see `storm-driver suite --help`). CARGO_TARGET_DIR is honoured.
# Exits non-zero if any run broke the protocol (the report still says which).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$root/docs/benchmarks"

args=()
for a in "$@"; do
    case "$a" in
        --quick) args+=(--rounds 1 --scale 0.1) ;;
        *) args+=("$a") ;;
    esac
done

echo "==> building plugins, storm-wasm and storm-driver (release)" >&2
scripts/build-plugins.sh
cargo build --release -p storm-wasm -p storm-wasm-tests >&2

venv="$root/target/bench-venv"
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s bench/requirements.txt "$stamp"; then
    echo "==> installing pystorm and matplotlib into target/bench-venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt >&2
    cp bench/requirements.txt "$stamp"
fi

# A snapshot of the binaries: another build in the same target directory
# must not replace them (and so the compile cache's key) mid-run.
bin="$root/target/bench-bin"
mkdir -p "$bin" "$out"
cp --remove-destination "$target/release/storm-wasm" "$target/release/storm-driver" "$bin/"
rm -f "$out/results.json"
status=0
echo "==> running the suite" >&2
STORM_WASM_BIN="$bin/storm-wasm" "$bin/storm-driver" suite \
    --out "$out/results.json" --python "$venv/bin/python" ${args[@]+"${args[@]}"} || status=$?
if [[ ! -s "$out/results.json" ]]; then
    echo "the suite wrote no results" >&2
    exit 1
fi
echo "==> writing docs/benchmarks/README.md and throughput.png" >&2
MPLBACKEND=Agg "$venv/bin/python" bench/report.py "$out/results.json" \
    --root "$root" --target "$target" --command "bench/run.sh${*:+ $*}" --out "$out"
exit "$status"
