#!/usr/bin/env bash
# Storm LocalCluster word-count benchmark: the same topology with WASM bolts
# (JSON and MessagePack), native Java bolts and pystorm bolts, in one run;
# and examples/word-count.yaml built by Storm's Flux on LocalCluster against
# the same file on storm-wasm's native worker (`storm-wasm run`).
#
#   tests/storm/benchmark/run.sh
#
# Environment (all optional):
#   STORM_WASM_BIN      the storm-wasm binary   (default: <cargo target>/release/storm-wasm, built if missing)
#   STORM_WASM_PLUGINS  the .wasm plugins dir   (default: target/plugins, built if missing)
#   BENCH_WARMUP_SECS   warm-up per variant     (default 10)
#   BENCH_MEASURE_SECS  measured window         (default 20)
#   BENCH_ROUNDS        runs of each variant, in alternating order; the best is reported (default 2)
#   BENCH_MAX_SPOUT_PENDING                     (default 1000)
#   BENCH_VARIANTS      comma list of java,wasm-msgpack,wasm-json,pystorm,flux-msgpack,flux-json,native-worker
#                       (default: all but flux-json)
#   BENCH_FLUX          the Flux file of the flux-* and native-worker variants (default: examples/word-count.yaml)
#   BENCH_JSON          also write the results as JSON to this file (bench/run.sh reads it)
#   BENCH_JAVA_OPTS     extra JVM options, e.g. -XX:StartFlightRecording=filename=bench.jfr
#
# Needs a JDK 17, Maven and python3 (with venv). Installs pystorm from PyPI
# into tests/storm/benchmark/target/storm-bench-venv. Prints the report and
# writes it to tests/storm/benchmark/target/storm-localcluster-results.md;
# Storm's own log goes to tests/storm/benchmark/target/storm-bench.log.
# About 8 minutes with the defaults. Runs from the repository root, where the
# Flux file's relative plugin paths (target/plugins/...) resolve.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="$here/target"

if [[ -z "${STORM_WASM_BIN:-}" ]]; then
    STORM_WASM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/storm-wasm"
    if [[ ! -x "$STORM_WASM_BIN" ]]; then
        echo "==> building the storm-wasm host" >&2
        (cd "$root" && cargo build --release --locked -p storm-wasm)
    fi
fi
if [[ -z "${STORM_WASM_PLUGINS:-}" ]]; then
    STORM_WASM_PLUGINS="$root/target/plugins"
    if [[ ! -f "$STORM_WASM_PLUGINS/split_sentence.wasm" || ! -f "$STORM_WASM_PLUGINS/word_count.wasm" ]]; then
        "$root/scripts/build-plugins.sh"
    fi
fi
for plugin in sentence_spout split_sentence word_count; do
    # What a supervisor does at deploy time: the tasks then start from the compile cache.
    "$STORM_WASM_BIN" compile "$STORM_WASM_PLUGINS/$plugin.wasm" >&2
done

echo "==> pystorm venv" >&2
venv="$target/storm-bench-venv"
if [[ ! -x "$venv/bin/python3" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"

echo "==> building the benchmark" >&2
mvn -B -q -f "$root/tests/storm/pom.xml" -Pbenchmark -pl benchmark -am -DskipTests package

# The exact command, with the settings that came from the environment, for the report.
command="tests/storm/benchmark/run.sh"
for var in $(compgen -e | grep -E '^(BENCH_|STORM_WASM_BIN$|STORM_WASM_PLUGINS$)' | sort -r); do
    command="$var=${!var} $command"
done

versions="storm-wasm $("$STORM_WASM_BIN" --version | awk '{print $2}'), $("$venv/bin/python3" --version)"
versions+=", pystorm $("$venv/bin/python3" -c 'import importlib.metadata as m; print(m.version("pystorm"))')"

echo "==> running" >&2
cd "$root"
# shellcheck disable=SC2086 # BENCH_JAVA_OPTS is a list of options
exec java -Xmx2g -XX:+UseG1GC ${BENCH_JAVA_OPTS:-} \
    -Dlog4j2.configurationFile="$here/src/main/resources/bench-log4j2.xml" \
    -Dbench.log="$target/storm-bench.log" \
    -Dbench.binary="$STORM_WASM_BIN" \
    -Dbench.plugins="$STORM_WASM_PLUGINS" \
    -Dbench.python="$venv/bin/python3" \
    -Dbench.scripts="$here/python" \
    -Dbench.output="$target/storm-localcluster-results.md" \
    -Dbench.warmup.secs="${BENCH_WARMUP_SECS:-10}" \
    -Dbench.measure.secs="${BENCH_MEASURE_SECS:-20}" \
    -Dbench.rounds="${BENCH_ROUNDS:-2}" \
    -Dbench.max.spout.pending="${BENCH_MAX_SPOUT_PENDING:-1000}" \
    -Dbench.variants="${BENCH_VARIANTS:-java,wasm-msgpack,wasm-json,pystorm,flux-msgpack,native-worker}" \
    -Dbench.flux="${BENCH_FLUX:-$root/examples/word-count.yaml}" \
    ${BENCH_JSON:+-Dbench.json="$BENCH_JSON"} \
    -Dbench.command="$command" \
    -Dbench.versions="$versions" \
    -cp "$target/classes:$(cat "$target/classpath.txt")" \
    org.stormwasm.storm.bench.WordCountBenchmark
