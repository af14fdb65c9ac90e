"""Unit-testing bolts and spouts on a normal CPython, without wasm.

:class:`FakeHost` stands in for storm-wasm: it records what the plugin
emits, acks, fails and logs, and runs the plugin through the same code the
component runs (the outcome rules included)::

    from storm_wasm.testing import FakeHost

    def test_counts():
        host = FakeHost()
        bolt = host.bolt(WordCountBolt)
        assert host.execute(bolt, ["cow"]) == "ack"
        assert host.emits == [("default", ["0"], ["cow", 1])]
"""

from dataclasses import dataclass

from . import _codec, _host
from ._runner import BoltRunner, SpoutRunner

_NAMES = ["trace", "debug", "info", "warn", "error"]


@dataclass
class Input:
    """A tuple as the host hands it over (the WIT ``input`` record)."""

    id: str
    source_component: str
    source_task: int
    stream_id: str
    values: bytes


class FakeHost:
    """Records the host calls of one plugin and drives it.

    :ivar emits: ``(stream, anchors, values)`` per bolt emit, or
        ``(stream, message_id, values)`` per spout emit; direct emits add the
        task as a fourth item. Values are decoded.
    :ivar acks: ids acked through the host (not counting outcomes).
    :ivar fails: ids failed through the host.
    :ivar logs: ``(level_name, message)``.
    :ivar errors: messages reported with ``report_error``/``raise_exception``.
    :ivar metrics: ``(name, decoded value)``.
    :ivar task_ids: what ``emit(..., need_task_ids=True)`` returns.
    :ivar in_flight: the tuple ids the host considers in flight; anchoring,
        acking or failing any other id is refused, as storm-wasm does.
    """

    def __init__(self, task_ids=(4, 5)):
        self.emits = []
        self.acks = []
        self.fails = []
        self.logs = []
        self.errors = []
        self.metrics = []
        self.task_ids = list(task_ids)
        self.in_flight = set()
        self._next_id = 0
        self.install()

    def install(self):
        """Binds the SDK's host functions to this recorder (done by the
        constructor; call again after using another FakeHost)."""
        _host.bolt_emit = lambda stream, anchors, values: self._bolt_emit(stream, anchors, values)
        _host.bolt_emit_with_task_ids = lambda stream, anchors, values: (
            self._bolt_emit(stream, anchors, values) or list(self.task_ids)
        )
        _host.bolt_emit_direct = lambda task, stream, anchors, values: self._bolt_emit(stream, anchors, values, task)
        _host.bolt_ack = lambda tid: self._resolve(tid, self.acks)
        _host.bolt_fail = lambda tid: self._resolve(tid, self.fails)
        _host.spout_emit = lambda stream, mid, values: self.emits.append((stream, mid, _codec.unpack(values)))
        _host.spout_emit_with_task_ids = lambda stream, mid, values: (
            self.emits.append((stream, mid, _codec.unpack(values))) or list(self.task_ids)
        )
        _host.spout_emit_direct = lambda task, stream, mid, values: self.emits.append(
            (stream, mid, _codec.unpack(values), task)
        )
        _host.log = lambda level, message: self.logs.append((_NAMES[level], message))
        _host.report_error = self.errors.append
        _host.metrics = lambda name, params: self.metrics.append((name, _codec.unpack(params)))

    def _bolt_emit(self, stream, anchors, values, task=None):
        for a in anchors:
            if a not in self.in_flight:
                raise _host.HostError(f"anchor {a} is not a tuple in flight")
        record = (stream, list(anchors), _codec.unpack(values))
        self.emits.append(record if task is None else record + (task,))

    def _resolve(self, tid, into):
        if tid not in self.in_flight:
            raise _host.HostError(f"tuple {tid} is not in flight")
        self.in_flight.discard(tid)
        into.append(tid)

    def bolt(self, cls, conf=None, context=None, task_id=3, component_id="bolt"):
        """Builds ``cls`` and runs its ``initialize``, as ``prepare`` does.
        Returns a runner to pass to :meth:`execute`; ``runner.bolt`` is the
        instance."""
        runner = BoltRunner(cls, "ack", "pending", lambda reason: ("fail", reason))
        runner.prepare(_codec.pack(conf or {}), task_id, component_id, _codec.pack(context or {}))
        return runner

    def execute(self, runner, values, id=None, component="source", stream="default", task=1):
        """Runs one tuple through the bolt; returns its outcome: ``"ack"``,
        ``"pending"`` or ``("fail", reason)``. The host then acks or fails
        it, as storm-wasm does."""
        if id is None:
            id = f"auto-{self._next_id}"
            self._next_id += 1
        self.in_flight.add(id)
        outcome = runner.execute(Input(id, component, task, stream, _codec.pack(list(values))))
        if outcome != "pending":
            self.in_flight.discard(id)
        elif stream == "__tick" and task == -1:
            self.in_flight.discard(id)  # the host acks pending ticks
        return outcome

    def tick(self, runner, id=None):
        """Runs a tick tuple through the bolt; returns its outcome."""
        return self.execute(runner, [1], id=id, component="__system", stream="__tick", task=-1)

    def spout(self, cls, conf=None, context=None, task_id=1, component_id="spout"):
        """Builds ``cls`` and runs its ``initialize``, as ``open`` does.
        Returns a runner: call ``runner.next_tuple()`` (``None`` or the error
        text), ``runner.ack(id)``, ``runner.fail(id)``, ``runner.activate()``;
        ``runner.spout`` is the instance."""
        runner = SpoutRunner(cls)
        runner.open(_codec.pack(conf or {}), task_id, component_id, _codec.pack(context or {}))
        return runner
