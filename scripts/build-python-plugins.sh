#!/usr/bin/env bash
# Builds the Python plugins: each plugins/python/<name>/<name>.py into
# target/plugins/<name>.wasm, with the Python SDK (sdk/python) and
# componentize-py. Called by scripts/build-plugins.sh.
#
# The tools live in a venv at target/python-venv (created on first use; it
# needs python3 >= 3.9 with the venv module, and PyPI). A plugin is rebuilt
# only when its sources, the SDK, the WIT or the pinned tools changed: the
# hash of all of them is kept in target/python-build/<name>.sha256.
# A plugin directory may hold a requirements.txt of pure-Python dependencies;
# they are installed into target/python-build/<name>/deps and built in.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Pinned: a new componentize-py changes the embedded CPython and the bindings.
# msgpack and pytest are for the SDK's tests (python -m pytest sdk/python/tests).
pins="componentize-py==0.25.1 msgpack==1.2.4 pytest>=7"
venv="$root/target/python-venv"
work="$root/target/python-build"
out="$root/target/plugins"
python="${PYTHON:-python3}"

shopt -s nullglob
plugins=("$root"/plugins/python/*/)
if [[ ${#plugins[@]} -eq 0 ]]; then
    exit 0
fi
mkdir -p "$work" "$out"

# The venv: recreated when the pins or the SDK's metadata change.
venv_key="$pins $(sha256sum "$root/sdk/python/pyproject.toml" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.storm-wasm-key" 2>/dev/null)" != "$venv_key" ]]; then
    echo "==> setting up $venv ($pins)" >&2
    if ! "$python" -c 'import sys, venv; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        echo "error: $python (>= 3.9, with the venv module) is needed to build the Python plugins;" \
            "on Debian: apt-get install python3 python3-venv (or set PYTHON=/path/to/python3)" >&2
        exit 1
    fi
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086 # one word per requirement
    "$venv/bin/pip" install --quiet --disable-pip-version-check $pins
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -e "$root/sdk/python"
    echo "$venv_key" >"$venv/.storm-wasm-key"
fi

# Everything a plugin's component depends on besides its own directory.
common_hash="$(
    {
        echo "$pins"
        "$venv/bin/python" --version
        find "$root/sdk/python/storm_wasm" "$root/wit" -type f \( -name '*.py' -o -name '*.wit' \) -print0 |
            sort -z | xargs -0 sha256sum
    } | sha256sum | cut -d' ' -f1
)"

built=0
for dir in "${plugins[@]}"; do
    dir="${dir%/}"
    name="$(basename "$dir")"
    module="$dir/$name.py"
    if [[ ! -f "$module" ]]; then
        echo "warning: $dir has no $name.py; skipped" >&2
        continue
    fi
    hash="$(
        {
            echo "$common_hash"
            find "$dir" -type f \( -name '*.py' -o -name 'requirements.txt' \) -not -path '*/__pycache__/*' -print0 |
                sort -z | xargs -0 sha256sum | sed "s|$root/||"
        } | sha256sum | cut -d' ' -f1
    )"
    stamp="$work/$name.sha256"
    if [[ -f "$out/$name.wasm" && "$(cat "$stamp" 2>/dev/null)" == "$hash" ]]; then
        continue
    fi
    paths=()
    if [[ -f "$dir/requirements.txt" ]]; then
        rm -rf "$work/$name/deps"
        "$venv/bin/pip" install --quiet --disable-pip-version-check --target "$work/$name/deps" -r "$dir/requirements.txt"
        paths=(-p "$work/$name/deps")
    fi
    echo "==> building Python plugin $name" >&2
    rm -f "$stamp"
    "$venv/bin/python" -m storm_wasm.build "$module" -o "$out/$name.wasm" --wit "$root/wit" ${paths[@]+"${paths[@]}"}
    echo "$hash" >"$stamp"
    built=$((built + 1))
done
if [[ $built -eq 0 ]]; then
    echo "==> Python plugins up to date" >&2
fi
