"""Parses JSON events and emits selected fields, like the Wikipedia-edit
stream example: (event_json) -> (action, is_bot, user). An anonymous edit
(no "user" field) is emitted with user None. Malformed JSON raises, so the
tuple fails with the parser's message.
"""

import json

from storm_wasm import Bolt


class JsonFieldsBolt(Bolt):
    outputs = ["action", "is_bot", "user"]

    def process(self, tup):
        event = json.loads(tup.values[0])
        self.emit([event.get("action", ""), bool(event.get("is_bot", False)), event.get("user")])
