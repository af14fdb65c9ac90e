#!/usr/bin/env bash
# Builds the example and test plugins for wasm32-wasip2 and copies each
# component to target/plugins/<name>.wasm (the path tests, benchmarks and
# the README use). Installs the wasm target when it is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "==> installing the wasm32-wasip2 target" >&2
    rustup target add wasm32-wasip2 >&2
fi

# The plugins' own cargo target dir: next to the host's when that is set
# (CI keeps it outside the clone as a cache), else under target/.
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    plugin_target="${CARGO_TARGET_DIR%/}-plugins"
else
    plugin_target="$root/target/plugin-build"
fi

echo "==> building plugins" >&2
CARGO_TARGET_DIR="$plugin_target" cargo build --release --locked \
    --manifest-path "$root/plugins/Cargo.toml" --target wasm32-wasip2 >&2

mkdir -p "$root/target/plugins"
for wasm in "$plugin_target"/wasm32-wasip2/release/*.wasm; do
    cp "$wasm" "$root/target/plugins/"
done
ls "$root/target/plugins" | sed 's/^/    target\/plugins\//' >&2

# Python plugins (componentize-py), when the Python SDK's build script exists.
if [[ -x "$root/scripts/build-python-plugins.sh" ]]; then
    "$root/scripts/build-python-plugins.sh"
fi
