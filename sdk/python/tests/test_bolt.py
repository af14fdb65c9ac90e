"""A bolt driven as the component drives it: the outcome rules of the Rust
SDK, pystorm's emit/ack/fail/log API and the traceback on failure."""

import pytest
from storm_wasm import Bolt, StormError, Tuple
from storm_wasm._runner import StartError
from storm_wasm.testing import FakeHost


class Echo(Bolt):
    def initialize(self, conf, ctx):
        self.conf, self.ctx = conf, ctx
        self.ticks = []

    def process(self, tup):
        cmd = tup.values[0]
        if cmd == "raise":
            raise ValueError("asked to raise")
        if cmd == "fail":
            self.fail(tup)
        elif cmd == "ack-then-raise":
            self.ack(tup)
            raise RuntimeError("too late")
        elif cmd == "keep":
            self.keep()
        elif cmd == "not-a-list":
            self.emit("oops")
        else:
            self.emit(list(tup.values))

    def process_tick(self, tup):
        self.ticks.append(tup)
        if tup.values[0] == "raise":
            raise ValueError("tick trouble")


@pytest.fixture
def host():
    return FakeHost()


def test_emits_are_anchored_to_the_tuple_which_is_then_acked(host):
    bolt = host.bolt(Echo)
    assert host.execute(bolt, ["hello", 1], id="t1") == "ack"
    assert host.emits == [("default", ["t1"], ["hello", 1])]


def test_an_exception_fails_the_tuple_with_the_traceback(host):
    bolt = host.bolt(Echo)
    outcome = host.execute(bolt, ["raise"])
    assert outcome[0] == "fail"
    reason = outcome[1]
    assert reason.startswith("ValueError: asked to raise\nTraceback (most recent call last):\n")
    assert 'test_bolt.py", line' in reason and "in process" in reason
    assert "_runner.py" not in reason, "the SDK's own frame is left out"
    assert host.emits == []


def test_explicit_ack_or_fail_leaves_the_outcome_to_the_host(host):
    bolt = host.bolt(Echo)
    assert host.execute(bolt, ["fail"], id="f") == "pending"
    assert host.fails == ["f"]
    assert host.execute(bolt, ["ack-then-raise"], id="a") == "pending"
    assert host.acks == ["a"]
    assert host.logs[-1][0] == "error" and "tuple a raised after it was acked or failed" in host.logs[-1][1]


def test_kept_tuples_stay_in_flight_and_are_acked_later(host):
    bolt = host.bolt(Echo)
    assert host.execute(bolt, ["keep"], id="k") == "pending"
    assert "k" in host.in_flight
    bolt.bolt.ack("k")
    assert host.acks == ["k"] and "k" not in host.in_flight


def test_ticks_go_to_process_tick_and_are_always_acked(host):
    bolt = host.bolt(Echo)
    assert host.tick(bolt, id="tick") == "ack"
    tup = bolt.bolt.ticks[0]
    assert tup.is_tick_tuple() and Bolt.is_tick(tup) and tup.component == "__system"
    assert host.execute(bolt, ["raise"], component="__system", stream="__tick", task=-1) == "ack"
    assert host.logs[-1][0] == "error" and host.logs[-1][1].startswith("tick failed: ValueError: tick trouble")


def test_auto_flags_turn_the_defaults_off(host):
    class Manual(Echo):
        auto_ack = False
        auto_anchor = False
        auto_fail = False

    bolt = host.bolt(Manual)
    assert host.execute(bolt, ["x"], id="m") == "pending"
    assert host.emits == [("default", [], ["x"])]
    assert host.execute(bolt, ["raise"], id="r") == "pending"
    assert host.logs[-1] == ("error", host.logs[-1][1]) and host.logs[-1][1].startswith("tuple r failed: ValueError")

    class NoFail(Echo):
        auto_fail = False

    bolt = host.bolt(NoFail)
    assert host.execute(bolt, ["raise"], id="n") == "ack"


def test_emit_options(host):
    class Emitter(Bolt):
        def process(self, tup):
            self.emit(["s"], stream="other")
            self.emit(["a"], anchors=[tup, "other-id"])
            self.emit(["u"], anchors=[])
            assert self.emit(["d"], direct_task=7, need_task_ids=True) == [7]
            assert self.emit(["t"], need_task_ids=True) == [4, 5]

    bolt = host.bolt(Emitter)
    host.in_flight.add("other-id")
    assert host.execute(bolt, ["go"], id="g") == "ack"
    assert host.emits == [
        ("other", ["g"], ["s"]),
        ("default", ["g", "other-id"], ["a"]),
        ("default", [], ["u"]),
        ("default", ["g"], ["d"], 7),
        ("default", ["g"], ["t"]),
    ]


def test_refusals_of_the_host_raise_storm_error(host):
    class BadAnchor(Bolt):
        def process(self, tup):
            try:
                self.emit(["x"], anchors=["gone"])
            except StormError as e:
                self.emit([str(e)])

    bolt = host.bolt(BadAnchor)
    assert host.execute(bolt, ["x"], id="b") == "ack"
    assert host.emits == [("default", ["b"], ["anchor gone is not a tuple in flight"])]
    with pytest.raises(StormError):
        bolt.bolt.ack("never-seen")


def test_emitting_something_that_is_not_a_list_fails_the_tuple(host):
    outcome = host.execute(host.bolt(Echo), ["not-a-list"])
    assert outcome[0] == "fail" and "TypeError: a tuple's values must be a list or a tuple, not 'str'" in outcome[1]

    class EmitsNone(Bolt):
        def process(self, tup):
            self.emit(None)

    for values in (["flat"], [["nested"]]):
        outcome = host.execute(host.bolt(EmitsNone), values)
        assert outcome[0] == "fail" and "not 'NoneType'" in outcome[1]


def test_values_are_named_by_the_context_fields(host):
    ctx = {"source->stream->fields": {"source": {"default": ["word", "n"]}, "other": {"s": ["class", "1x"]}}}

    class Fields(Bolt):
        def process(self, tup):
            self.emit([tup.values.word, tup.values._fields])

    bolt = host.bolt(Fields, context=ctx)
    assert host.execute(bolt, ["cow", 1]) == "ack"
    assert host.emits[-1][2] == ["cow", ["word", "n"]]
    # A length that does not match keeps plain values: no failure.
    seen = []
    bolt.bolt.process = lambda tup: seen.append(tup)
    host.execute(bolt, ["a", 1, 2])
    host.execute(bolt, ["b"], component="unknown")
    host.execute(bolt, ["x", "y"], component="other", stream="s")
    assert [type(t.values) for t in seen[:2]] == [tuple, tuple]
    assert seen[2].values._fields == ("_0", "_1"), "invalid names are renamed"


def test_undecodable_values_fail_with_the_cause(host):
    from storm_wasm.testing import Input

    runner = host.bolt(Echo)
    outcome = runner.execute(Input("bad", "source", 1, "default", b"\x92\x01"))
    assert outcome == ("fail", "cannot decode the values of tuple bad from source/default: truncated MessagePack data")
    outcome = runner.execute(Input("scalar", "source", 1, "default", b"\x01"))
    assert outcome[0] == "fail" and "the values are not a MessagePack array (type byte 0x01)" in outcome[1]


def test_setup_attributes_conf_context_and_logging(host):
    conf = {"topology.name": "wc", "topology.debug": True, "pystorm.log.level": "debug"}
    ctx = {"taskid": 9, "componentid": "counter", "task->component": {9: "counter"}}
    runner = host.bolt(Echo, conf=conf, context=ctx, task_id=9, component_id="counter")
    bolt = runner.bolt
    assert (bolt.conf, bolt.ctx) == (conf, ctx)
    assert (bolt.topology_name, bolt.task_id, bolt.component_name, bolt.debug) == ("wc", 9, "counter", True)
    assert bolt.storm_conf is bolt.conf and isinstance(bolt.pid, int)
    bolt.logger.debug("d %s", 1)
    bolt.logger.warning("w")
    bolt.log("plain")
    bolt.log("at trace", level="trace")
    assert host.logs == [("debug", "d 1"), ("warn", "w"), ("info", "plain"), ("trace", "at trace")]


def test_errors_and_metrics(host):
    bolt = host.bolt(Echo).bolt
    try:
        raise KeyError("k")
    except KeyError as e:
        bolt.raise_exception(e, Tuple("1", "c", "s", 2, ("v",)))
    assert host.errors[0].startswith("Python KeyError raised while processing tuple Tuple(id='1'")
    assert "KeyError: 'k'\nTraceback (most recent call last):" in host.errors[0]
    bolt.report_error("plain")
    bolt.metric("count", 3)
    bolt.report_metric("map", {"a": 1.5})
    assert host.errors[1] == "plain"
    assert host.metrics == [("count", 3), ("map", {"a": 1.5})]


def test_initialize_errors_stop_the_task_with_the_traceback(host):
    class Broken(Bolt):
        def initialize(self, conf, ctx):
            raise OSError("no database")

    with pytest.raises(StartError) as e:
        host.bolt(Broken)
    assert str(e.value).startswith("OSError: no database\nTraceback")
    assert "in initialize" in str(e.value)


def test_process_must_be_implemented(host):
    class Empty(Bolt):
        pass

    outcome = host.execute(host.bolt(Empty), ["x"])
    assert "NotImplementedError: Empty must implement process(self, tup)" in outcome[1]


def test_values_emitted_unchanged_are_re_sent_as_received(host):
    from storm_wasm import _host
    from storm_wasm.testing import Input

    sent = []
    _host.bolt_emit = lambda stream, anchors, values: sent.append(values)

    class Pass(Bolt):
        def process(self, tup):
            self.emit(tup.values)

    runner = host.bolt(Pass)
    float32 = b"\x92\xa1a\xca\x3f\x00\x00\x00"  # ["a", 0.5 as float32]: re-encoding would widen it
    runner.execute(Input("1", "source", 1, "default", float32))
    assert sent[-1] == float32
    nested = b"\x91\x91\xd0\x01"  # [[1]] with 1 as int8: nested values are re-encoded
    runner.execute(Input("2", "source", 1, "default", nested))
    assert sent[-1] == b"\x91\x91\x01"

    class Changed(Bolt):
        def process(self, tup):
            self.emit(tup.values[:1])

    runner = host.bolt(Changed)
    runner.execute(Input("3", "source", 1, "default", float32))
    assert sent[-1] == b"\x91\xa1a"


def test_hot_swap_hands_the_snapshot_to_the_next_version(host):
    from collections import Counter

    class V1(Bolt):
        plugin_version = "1.0"

        def initialize(self, conf, ctx):
            self.counts = Counter()

        def process(self, tup):
            self.counts[tup.values[0]] += 1

        def snapshot(self):
            return dict(self.counts)

    class V2(V1):
        plugin_version = "2.0"

        def restore(self, from_version, state):
            self.restored_from = from_version
            self.counts.update(state)

    old = host.bolt(V1)
    for w in ["a", "b", "a"]:
        host.execute(old, [w])
    new = host.bolt(V2)
    new.restore(old.version(), old.snapshot())
    assert (new.version(), new.bolt.restored_from, new.bolt.counts) == ("2.0", "1.0", {"a": 2, "b": 1})
    # The defaults: no state, and a restore that ignores what it gets.
    plain = host.bolt(Echo)
    assert plain.snapshot() is None and plain.version() == "0"
    plain.restore("1.0", old.snapshot())


def test_snapshot_and_restore_errors_carry_the_traceback(host):
    class Bad(Echo):
        def snapshot(self):
            return {1, 2}  # not encodable

        def restore(self, from_version, state):
            raise ValueError("incompatible state from " + from_version)

    runner = host.bolt(Bad)
    with pytest.raises(StartError, match="TypeError: cannot encode a set"):
        runner.snapshot()
    with pytest.raises(StartError, match="ValueError: incompatible state from 0.9"):
        runner.restore("0.9", b"\xc0")
