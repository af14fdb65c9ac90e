"""Runs a user's bolt or spout for the WIT exports: builds the instance,
turns inputs into :class:`Tuple` objects, calls the user's code and decides
each tuple's outcome (the same rules as the Rust SDK).

Nothing here imports the WIT bindings, so the whole contract is unit-tested
on a normal CPython (see :mod:`storm_wasm.testing`); ``_guest`` only adapts
the WIT types.
"""

from collections import namedtuple

from . import _codec, _host
from ._errors import describe
from .bolt import NO_RAW
from .component import Tuple

_ERROR = 4
_new = tuple.__new__
_NONE = {}


class StartError(Exception):
    """``prepare``/``open`` failed; the message holds the traceback."""


def _decode_map(data, what):
    value = _codec.unpack(data) if data else {}
    if not isinstance(value, dict):
        raise StartError(f"the {what} is not a MessagePack map: {type(value).__name__!r}")
    return value


def _fields_types(context):
    """``{source: {stream: (namedtuple class, field count)}}`` from the
    context's ``source->stream->fields``, so values read as ``tup.values.word``
    as with pystorm."""
    types = {}
    sources = context.get("source->stream->fields") or {}
    if not isinstance(sources, dict):
        return types
    for source, streams in sources.items():
        if not isinstance(streams, dict):
            continue
        for stream, fields in streams.items():
            if not isinstance(fields, (list, tuple)) or not fields:
                continue
            try:
                cls = namedtuple("Values", [str(f) for f in fields], rename=True)
            except (TypeError, ValueError):
                continue
            types.setdefault(str(source), {})[str(stream)] = (cls, len(fields))
    return types


def _start(cls, conf_bytes, task_id, component_id, context_bytes):
    try:
        conf = _decode_map(conf_bytes, "topology conf")
        context = _decode_map(context_bytes, "topology context")
        component = cls()
        component._setup_component(conf, context, task_id, component_id)
        component.initialize(conf, context)
    except StartError:
        raise
    except Exception as exc:
        raise StartError(describe(exc)) from None
    return component, context


class _Lifecycle:
    """Hot swap: the state of the running version and its hand-over."""

    def instance(self):
        raise NotImplementedError

    def version(self):
        component = self.instance()
        return str(getattr(component if component is not None else self.cls, "plugin_version", "0"))

    def snapshot(self):
        """The encoded state, or ``None``. Raises :class:`StartError`."""
        component = self.instance()
        if component is None:
            return None
        try:
            state = component.snapshot()
            return None if state is None else _codec.pack(state)
        except Exception as exc:
            raise StartError(describe(exc)) from None

    def restore(self, from_version, state):
        """Hands ``state`` (bytes) to the new instance. Raises
        :class:`StartError`."""
        component = self.instance()
        if component is None:
            raise StartError("the plugin was not started")
        try:
            component.restore(from_version, _codec.unpack(state))
        except Exception as exc:
            raise StartError(describe(exc)) from None


class BoltRunner(_Lifecycle):
    """Drives one bolt instance. ``ack`` and ``pending`` are the outcome
    values to return, ``fail(reason)`` builds a failing one."""

    def __init__(self, cls, ack, pending, fail):
        self.cls = cls
        self.bolt = None
        self.types = {}
        self.ACK = ack
        self.PENDING = pending
        self.FAIL = fail

    def instance(self):
        return self.bolt

    def prepare(self, conf_bytes, task_id, component_id, context_bytes):
        """Builds the bolt and calls its ``initialize``. Raises
        :class:`StartError` with the reason."""
        self.bolt, context = _start(self.cls, conf_bytes, task_id, component_id, context_bytes)
        self.types = _fields_types(context)

    def execute(self, inp):
        """Runs one input (``.id .source_component .source_task .stream_id
        .values``) and returns its outcome."""
        # The hot path of every Python plugin: no Python-level calls that
        # can be avoided (tuple.__new__ instead of namedtuple constructors,
        # identity checks instead of resetting flags).
        bolt = self.bolt
        if bolt is None:
            return self.FAIL("the bolt was not prepared")
        tid = inp.id
        comp = inp.source_component
        stream = inp.stream_id
        raw = inp.values
        try:
            items, flat = _codec.unpack_values(raw)
        except Exception as exc:
            return self.FAIL(f"cannot decode the values of tuple {tid} from {comp}/{stream}: {exc}")
        values = None
        types = self.types
        if types:
            make = types.get(comp, _NONE).get(stream)
            # A tuple whose length does not match the declared fields keeps
            # plain values rather than failing.
            if make is not None and make[1] == len(items):
                values = _new(make[0], items)
        if values is None:
            values = _new(tuple, items)
        tup = _new(Tuple, (tid, comp, stream, inp.source_task, values))
        tick = inp.source_task == -1 and stream == "__tick"

        bolt._current_id = tid
        bolt._anchor_ids = [tid] if bolt.auto_anchor else []
        # Emitting these very values again re-sends the bytes received.
        bolt._raw_for = values if flat else NO_RAW
        bolt._raw = raw
        try:
            if tick:
                bolt.process_tick(tup)
            else:
                bolt.process(tup)
        except Exception as exc:
            return self._failed(bolt, tid, tick, exc)
        if bolt._resolved_id is tid:
            # Already acked or failed through the host, which knows.
            return self.PENDING
        if tick:
            # Storm keeps every tick in its pending map until acked.
            return self.ACK
        if bolt._kept_id is tid or not bolt.auto_ack:
            return self.PENDING
        return self.ACK

    def _failed(self, bolt, tid, tick, exc):
        reason = describe(exc)
        if bolt._resolved_id is tid:
            _host.log(_ERROR, f"tuple {tid} raised after it was acked or failed: {reason}")
            return self.PENDING
        if tick:
            _host.log(_ERROR, "tick failed: " + reason)
            return self.ACK
        if bolt.auto_fail:
            return self.FAIL(reason)
        _host.log(_ERROR, f"tuple {tid} failed: {reason}")
        if bolt._kept_id is tid or not bolt.auto_ack:
            return self.PENDING
        return self.ACK


class SpoutRunner(_Lifecycle):
    """Drives one spout instance."""

    def __init__(self, cls):
        self.cls = cls
        self.spout = None

    def instance(self):
        return self.spout

    def open(self, conf_bytes, task_id, component_id, context_bytes):
        """Builds the spout and calls its ``initialize``. Raises
        :class:`StartError` with the reason."""
        self.spout, _ = _start(self.cls, conf_bytes, task_id, component_id, context_bytes)

    def next_tuple(self):
        """Calls ``next_tuple``; returns ``None`` or the error text."""
        if self.spout is None:
            return "the spout was not opened"
        try:
            self.spout.next_tuple()
        except Exception as exc:
            return describe(exc)
        return None

    def ack(self, message_id):
        self._call("ack", message_id)

    def fail(self, message_id):
        self._call("fail", message_id)

    def activate(self):
        self._call("activate")

    def deactivate(self):
        self._call("deactivate")

    def _call(self, name, *message_id):
        spout = self.spout
        if spout is None:
            return
        if message_id:
            message_id = (spout._original_id(message_id[0]),)
        try:
            getattr(spout, name)(*message_id)
        except Exception as exc:
            # These calls have no error result: log rather than trap, which
            # would restart the instance and lose the spout's state.
            _host.log(_ERROR, "{}({}) raised: {}".format(name, ", ".join(map(repr, message_id)), describe(exc)))
