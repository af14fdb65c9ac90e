"""Bolts, in the shape of pystorm's ``pystorm.bolt``."""

from collections import defaultdict

from . import _codec, _host
from ._errors import describe
from .component import Component, StormError, Tuple

DEFAULT_STREAM = "default"

# "No values whose bytes can be re-sent": never the object a bolt emits.
NO_RAW = object()


class Bolt(Component):
    """A bolt: consumes tuples, emits tuples. Subclass it and implement
    :meth:`process`.

    One instance runs per Storm task. The defaults are pystorm's:

    :cvar auto_anchor: emits are anchored to the tuple being processed
        (unless ``anchors`` is given). Default ``True``.
    :cvar auto_ack: the tuple is acked when :meth:`process` returns, unless
        the bolt already acked or failed it. With ``False`` it stays in
        flight until the bolt calls :meth:`ack` or :meth:`fail`, in this call
        or a later one. Default ``True``.
    :cvar auto_fail: the tuple is failed when :meth:`process` raises; the
        Python traceback goes to Storm's log. With ``False`` the traceback is
        only logged. Default ``True``.

    Tick tuples go to :meth:`process_tick` and are always acked. Unlike
    pystorm, an exception does not end the process: the tuple fails and the
    next one is processed.

    Example::

        from storm_wasm import Bolt

        class SplitSentence(Bolt):
            def process(self, tup):
                for word in tup.values[0].split():
                    self.emit([word])
    """

    auto_anchor = True
    auto_ack = True
    auto_fail = True

    # The runner sets these before each call to process/process_tick: the
    # id of the tuple being processed, the anchors of a default emit, and
    # the values object whose received bytes ``_raw`` can be re-sent as is.
    # ack/fail/keep record the current id, which the runner compares by
    # identity (so nothing needs resetting between tuples).
    _current_id = None
    _anchor_ids = []
    _raw_for = NO_RAW
    _raw = None
    _resolved_id = None
    _kept_id = None

    @staticmethod
    def is_tick(tup):
        """Whether ``tup`` is a tick tuple."""
        return tup.stream == "__tick" and tup.task == -1

    def process(self, tup):
        """Processes one :class:`~storm_wasm.Tuple`. Must be overridden."""
        raise NotImplementedError(f"{type(self).__name__} must implement process(self, tup)")

    def process_tick(self, tup):
        """Processes a tick tuple (Storm sends one every
        ``topology.tick.tuple.freq.secs``). The default does nothing. Ticks
        are acked whatever this does."""

    def emit(self, tup, stream=None, anchors=None, direct_task=None, need_task_ids=False):
        """Emits a tuple.

        :param tup: the values, a ``list`` or ``tuple`` of MessagePack-encodable
            values (str, int, float, bool, None, bytes, lists, dicts).
        :param stream: the stream id; ``None`` for Storm's default stream.
        :param anchors: tuples (or tuple ids) to anchor to; ``None`` anchors
            to the tuple being processed when ``auto_anchor`` is on, ``[]``
            emits unanchored.
        :param direct_task: emit to this task of a stream declared direct.
        :param need_task_ids: return the ids of the tasks that received the
            tuple (costs a round trip to Storm).
        :returns: ``None``, or the task ids when ``need_task_ids`` is true
            (``[direct_task]`` for a direct emit).
        :raises StormError: when the host refuses the emit (for instance an
            anchor that is not in flight).
        """
        if tup is self._raw_for:
            values = self._raw
        elif isinstance(tup, (list, tuple)):
            values = _codec.pack_array(tup)
        else:
            raise TypeError(f"a tuple's values must be a list or a tuple, not {type(tup).__name__!r}")
        if anchors is None:
            anchor_ids = self._anchor_ids
        else:
            anchor_ids = [a.id if isinstance(a, Tuple) else a for a in anchors]
        try:
            if direct_task is not None:
                _host.bolt_emit_direct(direct_task, stream or DEFAULT_STREAM, anchor_ids, values)
                return [direct_task] if need_task_ids else None
            if need_task_ids:
                return list(_host.bolt_emit_with_task_ids(stream or DEFAULT_STREAM, anchor_ids, values))
            _host.bolt_emit(stream or DEFAULT_STREAM, anchor_ids, values)
            return None
        except _host.HostError as e:
            raise StormError(e.value) from None

    def ack(self, tup):
        """Acks a tuple (a :class:`~storm_wasm.Tuple` or its id): the one
        being processed, or one kept in flight from an earlier call."""
        tup_id = tup.id if isinstance(tup, Tuple) else tup
        try:
            _host.bolt_ack(tup_id)
        except _host.HostError as e:
            raise StormError(e.value) from None
        if tup_id == self._current_id:
            self._resolved_id = self._current_id

    def fail(self, tup):
        """Fails a tuple (a :class:`~storm_wasm.Tuple` or its id); Storm
        replays it from the spout."""
        tup_id = tup.id if isinstance(tup, Tuple) else tup
        try:
            _host.bolt_fail(tup_id)
        except _host.HostError as e:
            raise StormError(e.value) from None
        if tup_id == self._current_id:
            self._resolved_id = self._current_id

    def keep(self):
        """Keeps the tuple being processed in flight after :meth:`process`
        returns, even with ``auto_ack`` on; ack or fail it later by id."""
        self._kept_id = self._current_id


class BatchingBolt(Bolt):
    """A bolt that groups tuples into batches and processes each batch on a
    tick, as pystorm's ``BatchingBolt``.

    Implement :meth:`process_batch`, and :meth:`group_key` to split batches by
    key. Tuples stay in flight until their batch is processed: then they are
    acked (``auto_ack``) or, when ``process_batch`` raises, failed
    (``auto_fail``). Emits in ``process_batch`` are anchored to every tuple of
    the batch (``auto_anchor``).

    Batches are processed every ``ticks_between_batches`` tick tuples, so the
    component needs ``topology.tick.tuple.freq.secs`` set on the Java side
    (there are no timer threads in a plugin).

    Example::

        class WordCounter(BatchingBolt):
            ticks_between_batches = 5

            def group_key(self, tup):
                return tup.values[0]

            def process_batch(self, key, tups):
                self.emit([key, len(tups)])
    """

    ticks_between_batches = 1

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._batches = defaultdict(list)
        self._tick_counter = 0

    def group_key(self, tup):
        """The key of the batch ``tup`` joins; ``None`` (one batch) by
        default. Any hashable value."""
        return None

    def process_batch(self, key, tups):
        """Processes the tuples of one batch. Must be overridden."""
        raise NotImplementedError(f"{type(self).__name__} must implement process_batch(self, key, tups)")

    def process(self, tup):
        """Adds ``tup`` to its batch. Override :meth:`group_key`, not this."""
        self._batches[self.group_key(tup)].append(tup)
        self.keep()

    def process_tick(self, tup):
        """Counts ticks and processes the batches every
        ``ticks_between_batches`` ticks."""
        self._tick_counter += 1
        if self._tick_counter >= self.ticks_between_batches and self._batches:
            self._tick_counter = 0
            self.process_batches()

    def emit(self, tup, **kwargs):
        """As :meth:`Bolt.emit`; never returns task ids (pystorm's rule)."""
        kwargs["need_task_ids"] = False
        return super().emit(tup, **kwargs)

    def process_batches(self):
        """Processes every batch, then acks (or fails) its tuples. A batch
        that raises is failed and logged; the other batches go on."""
        batches, self._batches = self._batches, defaultdict(list)
        for key, tups in batches.items():
            self._anchor_ids = [t.id for t in tups] if self.auto_anchor else []
            try:
                self.process_batch(key, tups)
            except Exception as exc:
                _host.log(4, f"batch {key!r} ({len(tups)} tuples) failed: {describe(exc)}")
                if self.auto_fail:
                    self._settle(tups, _host.bolt_fail)
            else:
                if self.auto_ack:
                    self._settle(tups, _host.bolt_ack)

    @staticmethod
    def _settle(tups, resolve):
        for t in tups:
            try:
                resolve(t.id)
            except _host.HostError:
                pass  # process_batch already acked or failed it
