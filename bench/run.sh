#!/usr/bin/env bash
# The benchmark suite, in one command:
#
#     bench/run.sh              # full run, ~12 min on 2 cores (once everything is built)
#     bench/run.sh --quick      # a tenth of the tuples, one round, short Storm windows: a smoke test (~3 min)
#     bench/run.sh --no-storm   # without the Storm LocalCluster part (no JDK/Maven needed)
#
# It builds what it needs (the plugins, storm-wasm and storm-driver, in
# release), installs pystorm and matplotlib into target/bench-venv, runs
# `storm-driver suite` (every scenario, interleaved in rounds so the ratios
# are measured side by side), then the word-count topology
# (examples/word-count.yaml) on the native worker against Storm's
# LocalCluster (tests/storm/benchmark, interleaved rounds in one JVM), and
# regenerates docs/benchmarks/README.md, results.json and throughput.png.
# Other arguments go to `storm-driver suite` (see `storm-driver suite
# --help`). CARGO_TARGET_DIR is honoured. Exits non-zero if any run broke
# the protocol or the Storm part failed (the report still says which).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started=$SECONDS
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$root/docs/benchmarks"

args=()
storm=1
quick=0
for a in "$@"; do
    case "$a" in
        --quick) args+=(--rounds 1 --scale 0.1); quick=1 ;;
        --no-storm) storm=0 ;;
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

# Native worker vs Storm LocalCluster on the word-count topology: the same
# Flux file both ways (flux-msgpack, native-worker), plus the LocalCluster
# word count with a Java spout and sink around the WASM bolts (wasm-msgpack)
# and with Java bolts (java), for scale. Rounds alternate inside one JVM.
localcluster=()
rm -f "$out/localcluster.json"
if (( storm )); then
    echo "==> native worker vs Storm LocalCluster (tests/storm/benchmark)" >&2
    if (( quick )); then
        storm_env=(BENCH_ROUNDS=1 BENCH_WARMUP_SECS=3 BENCH_MEASURE_SECS=8)
    else
        storm_env=(BENCH_ROUNDS=2 BENCH_WARMUP_SECS=5 BENCH_MEASURE_SECS=15)
    fi
    if env "${storm_env[@]}" BENCH_VARIANTS=native-worker,flux-msgpack,wasm-msgpack,java \
        BENCH_JSON="$out/localcluster.json" STORM_WASM_BIN="$bin/storm-wasm" STORM_WASM_PLUGINS="$root/target/plugins" \
        tests/storm/benchmark/run.sh >&2 && [[ -s "$out/localcluster.json" ]]; then
        localcluster=(--localcluster "$out/localcluster.json")
    else
        echo "the Storm LocalCluster part failed (see above); the report leaves it out" >&2
        status=1
    fi
fi

echo "==> writing docs/benchmarks/README.md and throughput.png" >&2
MPLBACKEND=Agg "$venv/bin/python" bench/report.py "$out/results.json" ${localcluster[@]+"${localcluster[@]}"} \
    --root "$root" --target "$target" --command "bench/run.sh${*:+ $*}" --out "$out" \
    --total-secs "$((SECONDS - started))"
rm -f "$out/localcluster.json"
exit "$status"
