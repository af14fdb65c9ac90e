"""Spouts: emits with message ids, ack/fail with the ids emitted, errors."""

from storm_wasm import Spout
from storm_wasm.testing import FakeHost


class Numbers(Spout):
    def initialize(self, conf, ctx):
        self.n = 0
        self.acked, self.failed, self.events = [], [], []

    def next_tuple(self):
        self.n += 1
        if self.n == 3:
            raise RuntimeError("third time")
        self.emit([self.n], tup_id=self.n if self.n == 1 else f"s{self.n}")

    def ack(self, tup_id):
        self.acked.append(tup_id)

    def fail(self, tup_id):
        self.failed.append(tup_id)
        raise KeyError(tup_id)

    def activate(self):
        self.events.append("activate")

    def deactivate(self):
        self.events.append("deactivate")


def test_emits_are_tracked_and_ids_come_back_as_emitted():
    host = FakeHost()
    runner = host.spout(Numbers)
    assert runner.next_tuple() is None
    assert runner.next_tuple() is None
    assert host.emits == [("default", "1", [1]), ("default", "s2", [2])]
    runner.ack("1")
    runner.ack("s2")
    assert runner.spout.acked == [1, "s2"], "an int id comes back as the int"


def test_errors_are_returned_or_logged_never_raised():
    host = FakeHost()
    runner = host.spout(Numbers)
    for _ in range(2):
        runner.next_tuple()
    error = runner.next_tuple()
    assert error.startswith("RuntimeError: third time\nTraceback") and "in next_tuple" in error
    runner.fail("s2")
    assert runner.spout.failed == ["s2"]
    assert host.logs[-1][0] == "error" and host.logs[-1][1].startswith("fail('s2') raised: KeyError: 's2'")


def test_activate_deactivate_and_emit_options():
    class Options(Spout):
        def next_tuple(self):
            self.emit(["x"], stream="s")
            assert self.emit(["d"], direct_task=3, need_task_ids=True) == [3]
            assert self.emit(["t"], tup_id="m", need_task_ids=True) == [4, 5]

    host = FakeHost()
    runner = host.spout(Numbers)
    runner.activate()
    runner.deactivate()
    assert runner.spout.events == ["activate", "deactivate"]
    runner = host.spout(Options)
    assert runner.next_tuple() is None
    assert host.emits == [("s", None, ["x"]), ("default", None, ["d"], 3), ("default", "m", ["t"])]


def test_a_spout_hands_its_state_over_too():
    class Stateful(Numbers):
        def snapshot(self):
            return {"n": self.n}

        def restore(self, from_version, state):
            self.n = state["n"]

    host = FakeHost()
    old = host.spout(Stateful)
    old.next_tuple()
    new = host.spout(Stateful)
    new.restore(old.version(), old.snapshot())
    new.next_tuple()
    assert host.emits[-1] == ("default", "s2", [2])
