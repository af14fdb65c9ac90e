"""A reliable sentence spout: emits sentences round-robin, each tracked by a
message id, and replays the ones Storm fails. Emits nothing while failed
tuples wait for replay and ``max_pending`` (conf ``sentence.max.pending``,
default 1000) are in flight.
"""

from storm_wasm import Spout

SENTENCES = [
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
    "i am at two with nature",
]


class SentenceSpout(Spout):
    outputs = ["sentence"]

    def initialize(self, conf, ctx):
        self.max_pending = int(conf.get("sentence.max.pending", 1000))
        self.next_id = 0
        self.pending = {}
        self.replay = []

    def next_tuple(self):
        if self.replay:
            msg_id = self.replay.pop()
            self.emit([self.pending[msg_id]], tup_id=msg_id)
            return
        if len(self.pending) >= self.max_pending:
            return
        sentence = SENTENCES[self.next_id % len(SENTENCES)]
        msg_id = str(self.next_id)
        self.next_id += 1
        self.pending[msg_id] = sentence
        self.emit([sentence], tup_id=msg_id)

    def ack(self, tup_id):
        self.pending.pop(tup_id, None)

    def fail(self, tup_id):
        if tup_id in self.pending:
            self.replay.append(tup_id)
        self.logger.warning("sentence %s failed; replaying it", tup_id)
