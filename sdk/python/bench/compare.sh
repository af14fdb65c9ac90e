#!/usr/bin/env bash
# The same Python bolts under storm-wasm (componentize-py, sdk/python) and
# under pystorm on the native CPython (C-accelerated msgpack, simplejson),
# on the same driver (storm-driver bench), JSON and MessagePack.
#
#   sdk/python/bench/compare.sh [TUPLES] [PLUGIN...]     (default 50000 py_passthrough py_word_count)
#
# Needs the host and driver built (cargo build --release -p storm-wasm -p
# storm-wasm-tests; CARGO_TARGET_DIR is honoured) and PyPI for pystorm's venv
# (target/pystorm-venv, created once).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
tuples="${1:-50000}"
shift || true
plugins=("$@")
[[ ${#plugins[@]} -gt 0 ]] || plugins=(py_passthrough py_word_count)
bin="${CARGO_TARGET_DIR:-$root/target}/release"
venv="$root/target/pystorm-venv"

"$root/scripts/build-python-plugins.sh"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "==> setting up $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check pystorm==3.1.4 msgpack==1.2.4
fi

for plugin in "${plugins[@]}"; do
    wasm="$root/target/plugins/$plugin.wasm"
    "$bin/storm-wasm" compile "$wasm" >&2 # the compile is not what is measured
    echo "### $plugin ($tuples tuples)"
    "$bin/storm-driver" bench --plugin "$wasm" --tuples "$tuples" --label "storm-wasm $plugin"
    "$bin/storm-driver" bench --tuples "$tuples" --label "pystorm $plugin" \
        --command "$venv/bin/python $root/sdk/python/bench/pystorm_runner.py $root/plugins/python/$plugin/$plugin.py {serializer}"
done
