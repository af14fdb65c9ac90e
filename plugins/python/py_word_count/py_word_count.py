"""The classic streamparse word-count bolt, ported by changing its imports
(``from streamparse import Bolt`` became ``from storm_wasm import Bolt``):
(word) -> (word, count), with a ``Counter`` per word. It logs its running
total every 1,000 words, as the original does. Use a fields grouping on
"word" so each word always reaches the same task.
"""

import os
from collections import Counter

from storm_wasm import Bolt


class WordCountBolt(Bolt):
    outputs = ["word", "count"]

    def initialize(self, conf, ctx):
        self.counter = Counter()
        self.pid = os.getpid()
        self.total = 0

    def _increment(self, word, inc_by):
        self.counter[word] += inc_by
        self.total += inc_by

    def process(self, tup):
        word = tup.values[0]
        self._increment(word, 10 if word == "dog" else 1)
        if self.total % 1000 == 0:
            self.logger.info("counted [{:,}] words [pid={}]".format(self.total, self.pid))
        self.emit([word, self.counter[word]])
