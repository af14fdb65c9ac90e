"""BatchingBolt: tuples wait for a tick, batches by key, ack or fail as a
batch."""

from storm_wasm import BatchingBolt
from storm_wasm.testing import FakeHost


class Counter(BatchingBolt):
    def group_key(self, tup):
        return tup.values[0]

    def process_batch(self, key, tups):
        if key == "bad":
            raise ValueError("bad batch")
        self.emit([key, len(tups)])


def test_tuples_wait_for_the_tick_then_each_batch_is_emitted_anchored_and_acked():
    host = FakeHost()
    runner = host.bolt(Counter)
    for i, word in enumerate(["a", "b", "a"]):
        assert host.execute(runner, [word], id=str(i)) == "pending"
    assert host.emits == [] and host.in_flight == {"0", "1", "2"}
    assert host.tick(runner) == "ack"
    assert host.emits == [("default", ["0", "2"], ["a", 2]), ("default", ["1"], ["b", 1])]
    assert sorted(host.acks) == ["0", "1", "2"] and not host.in_flight


def test_a_failing_batch_fails_its_tuples_and_the_others_go_on():
    host = FakeHost()
    runner = host.bolt(Counter)
    host.execute(runner, ["bad"], id="x")
    host.execute(runner, ["ok"], id="y")
    host.tick(runner)
    assert host.fails == ["x"] and host.acks == ["y"]
    assert host.logs[0][0] == "error" and "batch 'bad' (1 tuples) failed: ValueError: bad batch" in host.logs[0][1]


def test_ticks_between_batches_and_empty_ticks():
    class Slow(Counter):
        ticks_between_batches = 2

    host = FakeHost()
    runner = host.bolt(Slow)
    host.tick(runner)  # nothing batched: the counter still counts
    host.execute(runner, ["a"], id="1")
    host.tick(runner)
    assert host.acks == ["1"]
    host.execute(runner, ["a"], id="2")
    host.tick(runner)
    assert host.acks == ["1"], "one tick of two"
    host.tick(runner)
    assert host.acks == ["1", "2"]


def test_tuples_acked_by_process_batch_are_not_acked_twice():
    class SelfAcking(BatchingBolt):
        def process_batch(self, key, tups):
            self.ack(tups[0])

    host = FakeHost()
    runner = host.bolt(SelfAcking)
    host.execute(runner, ["a"], id="1")
    host.execute(runner, ["b"], id="2")
    host.tick(runner)
    assert host.acks == ["1", "2"]
