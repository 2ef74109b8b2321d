"""Messages at and above the size limits (delivery.max-queued-bytes, 4 MiB
by default) to users on all three transports, each followed by small ones:
each big message either arrives or is refused at publish (SQLSTATE 54000),
and nothing after it is held up."""

import json
import unittest

from battery import FaultCase
from checker import Op, publish_once

QUEUED_BYTES = 4 * 1024 * 1024  # delivery.max-queued-bytes, the default


class BigMessageTest(FaultCase):
    # The default ack timeout (5 s): a 1 s one resends a big frame while
    # the first copy is still on its way, which doubles what is queued.
    engine_args = tuple(a for a in FaultCase.engine_args
                        if not a.startswith("--delivery.ack-timeout="))

    def test_big_messages_arrive_or_are_refused_and_hold_nothing_up(self):
        users = {"ws": ["wa", "wb"], "sse": ["sa", "sb"],
                 "poll": ["pa", "pb"]}
        everyone = [u for group in users.values() for u in group]
        self.start_engine(f"--delivery.max-queued-bytes={QUEUED_BYTES}")
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.seed(everyone)
        self.connect(users)
        sizes = {"half the limit": QUEUED_BYTES // 2,
                 "just under the limit": QUEUED_BYTES - 4096,
                 "at the limit": QUEUED_BYTES,
                 "1.5 times the limit": QUEUED_BYTES * 3 // 2}
        outcomes = {}
        for name, size in sizes.items():
            op = Op("commit", f"big-{size}", everyone, f"big-{size}-key")
            code = publish_once(self.database_url, self.ledger, op,
                                json.dumps({"n": 0, "tag": op.tag,
                                            "pad": "x" * size}))
            outcomes[name] = "committed" if code is None else \
                f"refused ({code})"
            self.assertIn(code, (None, "54000"),
                          f"{name}: refused with {self.ledger.refused}")
            self.publish_round(3, everyone, f"small-after-{size}")
        print("\nbig messages: " + ", ".join(f"{k}: {v}"
                                            for k, v in outcomes.items()))
        self.settle(None, "messages at and above the size limit",
                    "0.5, ~1, 1 and 1.5 x 4 MiB", timeout=30)


if __name__ == "__main__":
    unittest.main()
