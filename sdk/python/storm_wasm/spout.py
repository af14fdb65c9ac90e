"""Spouts, in the shape of pystorm's ``pystorm.spout``."""

from . import _codec, _host
from .component import Component, StormError

DEFAULT_STREAM = "default"


class Spout(Component):
    """A spout: the source of a topology's tuples. Subclass it and implement
    :meth:`next_tuple`.

    Storm calls :meth:`next_tuple` in a loop; each call may emit zero or more
    tuples. A tuple emitted with a ``tup_id`` is tracked: when its tuple tree
    completes Storm calls :meth:`ack` with that id, when it fails or times
    out, :meth:`fail`. Replaying is the spout's job.

    Example::

        from storm_wasm import Spout

        class Sentences(Spout):
            def initialize(self, conf, ctx):
                self.n = 0

            def next_tuple(self):
                self.n += 1
                self.emit(["the cow jumped over the moon"], tup_id=str(self.n))
    """

    # Message ids cross the host as strings; ids of other types (pystorm
    # allows ints) are remembered so ack/fail get back what was emitted.
    # Created on first use, so a subclass __init__ need not call super().
    _typed_ids = None

    def next_tuple(self):
        """Emits the next tuples, if any. Must be overridden. Return quickly
        when there is nothing to emit: Storm calls again."""
        raise NotImplementedError(f"{type(self).__name__} must implement next_tuple(self)")

    def ack(self, tup_id):
        """The tuple tree of ``tup_id`` completed. The default does nothing."""

    def fail(self, tup_id):
        """The tuple tree of ``tup_id`` failed or timed out. The default does
        nothing."""

    def activate(self):
        """The topology was activated (also once at start)."""

    def deactivate(self):
        """The topology was deactivated: :meth:`next_tuple` is not called until
        it is activated again."""

    def emit(self, tup, tup_id=None, stream=None, direct_task=None, need_task_ids=False):
        """Emits a tuple.

        :param tup: the values, a ``list`` or ``tuple``.
        :param tup_id: a message id to track the tuple with (``None``: not
            tracked). A ``str``, or any value whose ``str()`` is unique among
            the tuples in flight.
        :param stream: the stream id; ``None`` for the default stream.
        :param direct_task: emit to this task of a stream declared direct.
        :param need_task_ids: return the ids of the receiving tasks.
        :returns: ``None``, or the task ids when ``need_task_ids`` is true.
        """
        if not isinstance(tup, (list, tuple)):
            raise TypeError(f"a tuple's values must be a list or a tuple, not {type(tup).__name__!r}")
        message_id = None
        if tup_id is not None:
            if isinstance(tup_id, str):
                message_id = tup_id
            else:
                message_id = str(tup_id)
                if self._typed_ids is None:
                    self._typed_ids = {}
                self._typed_ids[message_id] = tup_id
        values = _codec.pack_array(tup)
        try:
            if direct_task is not None:
                _host.spout_emit_direct(direct_task, stream or DEFAULT_STREAM, message_id, values)
                return [direct_task] if need_task_ids else None
            if need_task_ids:
                return list(_host.spout_emit_with_task_ids(stream or DEFAULT_STREAM, message_id, values))
            _host.spout_emit(stream or DEFAULT_STREAM, message_id, values)
            return None
        except _host.HostError as e:
            if self._typed_ids:
                self._typed_ids.pop(message_id, None)
            raise StormError(e.value) from None

    def _original_id(self, message_id):
        if self._typed_ids:
            return self._typed_ids.pop(message_id, message_id)
        return message_id
