"""A word counter for the hot-swap tests, in Python: (word) -> (word, count,
version). Its counts survive a hot swap, in the state format of the Rust
swap-counter (a MessagePack map word -> count), so either can replace the
other while the topology runs.
"""

from storm_wasm import Bolt


class SwapCounter(Bolt):
    plugin_version = "py-1.0.0"

    def initialize(self, conf, ctx):
        self.counts = {}

    def process(self, tup):
        word = tup.values[0]
        count = self.counts.get(word, 0) + 1
        self.counts[word] = count
        self.emit([word, count, self.plugin_version])

    def snapshot(self):
        return self.counts

    def restore(self, from_version, state):
        self.counts = {str(word): int(count) for word, count in state.items()}
        self.logger.info("took over %d counts from version %s", len(self.counts), from_version)
