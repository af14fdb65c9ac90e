"""pystorm split bolt of the benchmark: (sentence) -> (word) for each word.

Storm starts it as a ShellBolt: python3 split.py. pystorm's Bolt anchors each
emit to the input tuple and acks the tuple after process() returns.
"""
from pystorm import Bolt


class SplitSentenceBolt(Bolt):
    def process(self, tup):
        for word in tup.values[0].split():
            self.emit([word])


if __name__ == "__main__":
    SplitSentenceBolt().run()
