"""Emits every tuple's values unchanged, anchored to it (benchmarks)."""

from storm_wasm import Bolt


class PassthroughBolt(Bolt):
    def process(self, tup):
        self.emit(tup.values)
