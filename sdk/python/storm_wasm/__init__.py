"""Write Apache Storm bolts and spouts in Python and run them, sandboxed, as
WebAssembly components under storm-wasm.

The API is pystorm's (and so streamparse's): a pystorm bolt ports by
changing its imports::

    from collections import Counter
    from storm_wasm import Bolt

    class WordCountBolt(Bolt):
        def initialize(self, conf, ctx):
            self.counter = Counter()

        def process(self, tup):
            word = tup.values[0]
            self.counter[word] += 1
            self.emit([word, self.counter[word]])

Build it into a plugin with ``python -m storm_wasm.build word_count.py -o
word_count.wasm`` and run it with ``storm-wasm bolt word_count.wasm``.

The build finds the plugin class on its own when the module defines exactly
one bolt or spout; otherwise name it with ``--class`` or end the module with
``storm_wasm.export_bolt(MyBolt)`` / ``export_spout(MySpout)``.

Import every module the plugin uses at the top level of its module: the
build freezes the interpreter after importing it, and a plugin has no files
to import from at run time.
"""

from . import _discover
from .bolt import BatchingBolt, Bolt
from .component import Component, StormError, StormHandler, Stream, Tuple
from .spout import Spout

__version__ = "0.1.0"

__all__ = [
    "BatchingBolt",
    "Bolt",
    "Component",
    "Spout",
    "StormError",
    "StormHandler",
    "Stream",
    "Tuple",
    "export_bolt",
    "export_spout",
]


def export_bolt(cls):
    """Names ``cls`` as the module's plugin (needed only when the module
    defines more than one bolt class). Returns ``cls``, so it also works as a
    class decorator."""
    return _discover.export(cls, "bolt")


def export_spout(cls):
    """Names ``cls`` as the module's spout plugin; see :func:`export_bolt`."""
    return _discover.export(cls, "spout")
