"""User actors crashed by injection (heraldctl crash) again and again under
load, with WebSocket, SSE and long-poll clients at once: the shard's
supervision restarts them, their sessions stay, and every committed message
still arrives once, in order."""

import random
import time
import unittest

from battery import FaultCase, sized, spread
from harness import wait_until


class ActorCrashTest(FaultCase):
    def test_user_actors_crashed_under_load(self):
        burst = sized(2000, 10000)
        users = spread(sized(12, 30))
        everyone = [u for group in users.values() for u in group]
        self.start_engine()
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.seed(everyone)
        self.connect(users)
        writers = self.writers(burst, 4, everyone)
        rng = random.Random(7)
        crashes = 0
        for step in range(1, 11):
            # One crash each time another tenth of the burst has arrived.
            wait_until(lambda: self.checker.received()
                       >= self.ledger_size() * step // 12, 30)
            victims = rng.sample(everyone, 3)
            crashes += sum(self.crash_user(v) for v in victims)
        self.fault_ended = time.monotonic()
        print(f"\ncrashes injected: {crashes}")
        self.assertGreaterEqual(crashes, 10, "too few crashes were taken")
        self.settle(writers, f"user actors crashed ({crashes} times)",
                    f"{burst:,} publishes")

    def ledger_size(self):
        return sum(len(ids) for ids in self.ledger.expected().values())


if __name__ == "__main__":
    unittest.main()
