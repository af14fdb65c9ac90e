"""Runs a storm-wasm Python plugin module under pystorm on the native
CPython, for the comparison benchmark (bench/compare.sh): the same bolt
code, with ``storm_wasm`` resolved to pystorm.

    python pystorm_runner.py path/to/plugin.py json|msgpack
"""

import importlib.util
import os
import sys

import pystorm


def main():
    path, serializer = sys.argv[1], sys.argv[2]
    # pystorm exits with 2 when Storm closes stdin, which is how every
    # benchmark run ends; the driver would report it as a failure.
    pystorm.Component._exit = lambda self, code: sys.exit(0 if code == 2 else code)
    # The plugin says `from storm_wasm import Bolt`: hand it pystorm's.
    sys.modules["storm_wasm"] = pystorm
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [
        c
        for c in vars(module).values()
        if isinstance(c, type) and issubclass(c, pystorm.Component) and c.__module__ == name
    ]
    if len(classes) != 1:
        sys.exit(f"{path} must define exactly one bolt or spout class")
    classes[0](serializer=serializer).run()


if __name__ == "__main__":
    main()
