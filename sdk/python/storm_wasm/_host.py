"""The host functions the SDK calls, bound late.

Inside a plugin, :mod:`storm_wasm._guest` binds these names to the
componentize-py imports of the WIT contract when the component starts; in
unit tests :class:`storm_wasm.testing.FakeHost` binds them to recorders. The
rest of the SDK calls them as ``_host.name(...)`` so that it never imports
``wit_world`` (which exists only inside a component) and so that one lookup,
not a wrapper call, is all the indirection costs on the hot path.

Signatures (``values`` and ``params`` are MessagePack bytes, ``level`` is
Storm's number 0..4):

- ``bolt_emit(stream, anchors, values)``
- ``bolt_emit_with_task_ids(stream, anchors, values) -> list[int]``
- ``bolt_emit_direct(task, stream, anchors, values)``
- ``bolt_ack(id)``, ``bolt_fail(id)``
- ``spout_emit(stream, message_id_or_None, values)``
- ``spout_emit_with_task_ids(stream, message_id_or_None, values) -> list[int]``
- ``spout_emit_direct(task, stream, message_id_or_None, values)``
- ``log(level, message)``, ``report_error(message)``, ``metrics(name, params)``

A host function that returns a WIT ``result`` error raises :data:`HostError`
with the host's message in ``.value``.
"""


class HostError(Exception):
    """Stand-in for ``componentize_py_types.Err`` outside a component."""

    def __init__(self, value):
        super().__init__(value)
        self.value = value


def _unbound(*_args):
    raise RuntimeError(
        "storm_wasm is not running inside storm-wasm: build the plugin with "
        "`python -m storm_wasm.build`, or drive it with storm_wasm.testing.FakeHost in tests"
    )


bolt_emit = _unbound
bolt_emit_with_task_ids = _unbound
bolt_emit_direct = _unbound
bolt_ack = _unbound
bolt_fail = _unbound
spout_emit = _unbound
spout_emit_with_task_ids = _unbound
spout_emit_direct = _unbound
log = _unbound
report_error = _unbound
metrics = _unbound
