"""The SDK ships a copy of the contract (a pip-installed SDK cannot reach the
repository's wit/): it must not drift from wit/storm-plugin.wit."""

import os

import pytest
from storm_wasm.build import default_wit_dir

REPO_WIT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "wit", "storm-plugin.wit")


@pytest.mark.skipif(not os.path.exists(REPO_WIT), reason="not in the storm-wasm repository")
def test_the_shipped_wit_is_the_repositorys():
    with open(REPO_WIT, encoding="utf-8") as f:
        repo = f.read()
    with open(os.path.join(default_wit_dir(), "storm-plugin.wit"), encoding="utf-8") as f:
        shipped = f.read()
    assert shipped == repo, "copy wit/storm-plugin.wit to sdk/python/storm_wasm/wit/ (they differ)"
