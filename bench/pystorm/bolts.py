"""The benchmark's bolts written for pystorm, the usual way to run Python
bolts under Storm's ShellBolt: the same logic as the Rust plugins
passthrough, split_sentence, word_count and json_fields, with pystorm's
defaults (auto-anchor, auto-ack, need_task_ids false).

    python bolts.py <bolt> <json|msgpack>
"""

import json
import sys

from pystorm import Bolt


class Passthrough(Bolt):
    def process(self, tup):
        self.emit(tup.values)


class SplitSentence(Bolt):
    def process(self, tup):
        for word in tup.values[0].split():
            self.emit([word])


class WordCount(Bolt):
    def initialize(self, conf, context):
        self.counts = {}

    def process(self, tup):
        word = tup.values[0]
        count = self.counts.get(word, 0) + 1
        self.counts[word] = count
        self.emit([word, count])


class JsonFields(Bolt):
    def process(self, tup):
        edit = json.loads(tup.values[0])
        self.emit([edit.get("action", ""), edit.get("is_bot", False), edit.get("user")])


BOLTS = {
    "passthrough": Passthrough,
    "split_sentence": SplitSentence,
    "word_count": WordCount,
    "json_fields": JsonFields,
}

if __name__ == "__main__":
    name, serializer = sys.argv[1], sys.argv[2]
    BOLTS[name](serializer=serializer).run()
