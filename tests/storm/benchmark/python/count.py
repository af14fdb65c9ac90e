"""pystorm count bolt of the benchmark: (word) -> (word, count), the running
count of the word in this task (the topology uses a fields grouping on "word").
"""
from collections import Counter

from pystorm import Bolt


class WordCountBolt(Bolt):
    def initialize(self, conf, context):
        self.counts = Counter()

    def process(self, tup):
        word = tup.values[0]
        self.counts[word] += 1
        self.emit([word, self.counts[word]])


if __name__ == "__main__":
    WordCountBolt().run()
