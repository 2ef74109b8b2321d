"""kill -9 of heraldd twice during a burst from several concurrent writers
(some transactions rolled back on purpose, some idempotency keys repeated),
heraldd restarted at once each time, with WebSocket, SSE and long-poll
clients at once: every committed message reaches each recipient once, in
seq order, rolled-back publishes never."""

import unittest

from battery import FaultCase, sized, spread


class KillNineTest(FaultCase):
    def test_kill_nine_twice_mid_burst(self):
        burst = sized(2000, 10000)
        users = spread(sized(12, 30))
        everyone = [u for group in users.values() for u in group]
        self.start_engine()
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.seed(everyone)
        self.connect(users)
        writers = self.writers(burst, 4, everyone)
        for share in (3, 3 * 2):
            # Killed while the writers are mid-burst, restarted at once.
            self.wait_commits(burst * share // 9)
            self.restart_engine("kill")
        self.settle(writers, "kill -9 twice mid-burst", f"{burst:,} publishes")


if __name__ == "__main__":
    unittest.main()
