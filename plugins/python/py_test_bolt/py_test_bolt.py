"""A bolt scripted by its input, for the end-to-end tests. The first value
is a command; every emit is one field:

- ``raise``        raise ValueError (auto-fail with the traceback)
- ``fail``         fail the tuple explicitly, emit nothing
- ``log:<text>``   log <text> at INFO through self.logger, emit [cmd]
- ``error:<text>`` report <text> to Storm with raise_exception, emit [cmd]
- ``keep``         keep the tuple in flight (auto_ack is off for it)
- ``ackall``       ack every kept tuple, then emit [cmd]
- ``taskids``      emit [cmd] asking for task ids, then emit ["taskids:<ids>"]
- ``import``       import a module at run time (fails: no files in the sandbox)
- ``fields``       emit [the values' field names] (from source->stream->fields)
- anything else    emit [cmd]

Tick tuples emit ["tick", <count of ticks so far>] unanchored. With the conf
key ``test.bolt.emit.on.initialize``, initialize emits [its value] unanchored
(pystorm allows emits there; they must reach Storm like any other).
"""

from storm_wasm import Bolt


def _lookup(name):
    # Helper one frame deeper, so the tests see a traceback of two frames.
    raise ValueError("asked to raise: " + name)


class TestBolt(Bolt):
    def initialize(self, conf, ctx):
        self.kept = []
        self.ticks = 0
        hello = conf.get("test.bolt.emit.on.initialize")
        if hello:
            self.emit([hello])

    def process(self, tup):
        cmd = tup.values[0]
        if cmd == "raise":
            _lookup(cmd)
        elif cmd == "fail":
            self.fail(tup)
            return
        elif cmd.startswith("log:"):
            self.logger.info(cmd[len("log:") :])
        elif cmd.startswith("error:"):
            try:
                raise RuntimeError(cmd[len("error:") :])
            except RuntimeError as e:
                self.raise_exception(e, tup)
        elif cmd == "keep":
            self.kept.append(tup)
            self.keep()
            return
        elif cmd == "ackall":
            for kept in self.kept:
                self.ack(kept)
            self.kept = []
        elif cmd == "taskids":
            tasks = self.emit([cmd], need_task_ids=True)
            self.emit(["taskids:" + ",".join(str(t) for t in tasks)])
            return
        elif cmd == "import":
            import wave  # noqa: F401  (not imported at build time: fails)
        elif cmd == "fields":
            self.emit([list(getattr(tup.values, "_fields", []))])
            return
        self.emit([cmd])

    def process_tick(self, tup):
        self.ticks += 1
        self.emit(["tick", self.ticks], anchors=[])
