"""What bolts and spouts share: tuples, logging, errors, metrics, setup.

The names and signatures follow pystorm's ``pystorm.component`` so that code
written for pystorm or streamparse ports by changing its imports.
"""

import logging
import os
from collections import namedtuple

from . import _codec, _host
from ._errors import describe

# Storm's log levels, numbered as in the multi-lang ``log`` command.
_STORM_LEVELS = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "warning": 3, "error": 4, "critical": 4}
_PYTHON_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class StormError(RuntimeError):
    """The host refused a request: for instance an anchor, ack or fail of a
    tuple id that is not in flight, or an emit that Storm cannot route."""


class Tuple(namedtuple("Tuple", "id component stream task values")):
    """A tuple delivered to a bolt, as pystorm's ``Tuple``.

    :ivar id: Storm's tuple id (ack, fail and anchor with it).
    :ivar component: the component that emitted it (``__system`` for ticks).
    :ivar stream: the stream it arrived on (``__tick`` for ticks).
    :ivar task: the task that emitted it (-1 for ticks).
    :ivar values: the values, a ``tuple``; a namedtuple with the declared field
        names when Storm's context lists them (``source->stream->fields``), so
        ``tup.values.word`` works as with pystorm.
    """

    __slots__ = ()

    def is_tick_tuple(self):
        """Whether this is a tick tuple (``topology.tick.tuple.freq.secs``)."""
        return self.stream == "__tick" and self.task == -1

    def is_heartbeat_tuple(self):
        """Always false: the host answers heartbeats itself."""
        return False


class Stream(namedtuple("Stream", "fields name direct")):
    """A stream declaration, as streamparse's ``Stream``, so that a class
    attribute ``outputs = [Stream(...)]`` keeps working. storm-wasm does not
    read it: outputs are declared on the Java side (``WasmBolt``)."""

    __slots__ = ()

    def __new__(cls, fields=None, name="default", direct=False):
        return super().__new__(cls, list(fields or []), name, direct)


class StormHandler(logging.Handler):
    """A :mod:`logging` handler that sends records to Storm's log."""

    def emit(self, record):
        try:
            level = _STORM_LEVELS.get(record.levelname.lower(), 2)
            _host.log(level, self.format(record))
        except Exception:  # logging must never break the plugin
            self.handleError(record)


class Component:
    """Base class of :class:`~storm_wasm.Bolt` and :class:`~storm_wasm.Spout`.

    After the handshake (before :meth:`initialize`) these attributes are set,
    as in pystorm: ``storm_conf`` (dict), ``context`` (dict, Storm's
    TopologyContext), ``topology_name``, ``task_id``, ``component_name``,
    ``debug``, ``pid`` and ``logger`` (a :class:`logging.Logger` whose
    records go to Storm's log; its level is the conf's ``pystorm.log.level``,
    ``info`` when unset).

    The class is instantiated with no arguments; override :meth:`initialize`
    rather than ``__init__``.
    """

    def __init__(self, *args, **kwargs):
        # pystorm's constructor takes streams and a serializer; the host does
        # that work here, so any arguments are accepted and ignored.
        self.topology_name = None
        self.task_id = None
        self.component_name = None
        self.debug = None
        self.storm_conf = None
        self.context = None
        self.pid = None
        self.logger = None

    plugin_version = "0"
    """This plugin's version: the host logs it on a hot swap and hands it to
    the next version's :meth:`restore`."""

    def snapshot(self):
        """The state to hand to the next version of the plugin on a hot swap:
        any MessagePack-encodable value, or ``None`` (the default) to let the
        next version start fresh. Called between batches."""
        return None

    def restore(self, from_version, state):
        """Takes over ``state``, what the previous version's
        :meth:`snapshot` returned (decoded), after :meth:`initialize`. An
        exception keeps the previous version running. The default ignores
        it."""

    def initialize(self, storm_conf, context):
        """Called once, after the handshake and before any tuple.

        :param storm_conf: the topology configuration (dict).
        :param context: Storm's topology context (dict: ``taskid``,
            ``componentid``, ``task->component``, ``source->stream->fields``...).
        """

    def _setup_component(self, storm_conf, context, task_id, component_id):
        self.topology_name = storm_conf.get("topology.name", "")
        self.task_id = task_id
        self.component_name = component_id
        self.debug = storm_conf.get("topology.debug", False)
        self.storm_conf = storm_conf
        self.context = context
        self.pid = os.getpid()
        level = str(storm_conf.get("pystorm.log.level", "info")).lower()
        root = logging.getLogger()
        if not any(isinstance(h, StormHandler) for h in root.handlers):
            root.addHandler(StormHandler())
        root.setLevel(_PYTHON_LEVELS.get(level, logging.INFO))
        self.logger = logging.getLogger("storm_wasm." + (component_id or "component"))

    def log(self, message, level=None):
        """Logs ``message`` through Storm's log handler.

        :param level: ``trace``, ``debug``, ``info`` (default), ``warn`` or
            ``error``.
        """
        _host.log(_STORM_LEVELS.get(level, 2) if level else 2, str(message))

    def raise_exception(self, exception, tup=None):
        """Reports ``exception`` to Storm (worker log and UI) with the
        traceback of the exception being handled, as pystorm does. Fails
        nothing."""
        where = f" while processing tuple {tup!r}" if tup else ""
        head = f"Python {type(exception).__name__} raised{where}"
        _host.report_error(head + "\n" + describe(exception))

    def report_error(self, message):
        """Reports an error message to Storm (worker log and UI)."""
        _host.report_error(str(message))

    def report_metric(self, name, value):
        """Updates the metric ``name`` that the Java side registered
        (``WasmBolt.registerMetric``); Storm kills the task on an unknown
        name. ``value`` is any MessagePack-encodable value."""
        _host.metrics(name, _codec.pack(value))

    metric = report_metric
    """Alias of :meth:`report_metric`."""
