"""PostgreSQL crashed mid-burst (pg_ctl stop -m immediate) and started
again after 5 s: while it is down /readyz answers 503; deliveries resume by
themselves, with nothing lost or duplicated on any transport."""

import threading
import time
import unittest

from battery import FaultCase, sized, spread
from checker import http_request

DOWN_FOR = 5.0


class PostgresCrashTest(FaultCase):
    # The writers count a commit as done when PostgreSQL said so: with
    # synchronous_commit off (the fast test cluster) a crash may take it
    # back, which is PostgreSQL's documented trade, not Herald's.
    PG_FAST = False

    def readyz(self):
        try:
            return self.checker.call(http_request(self.endpoint.port, "GET",
                                                  "/readyz", timeout=3))[0]
        except Exception:  # noqa: BLE001 - any failure is "not answered"
            return None

    def test_postgres_crash_mid_burst(self):
        burst = sized(2000, 10000)
        users = spread(sized(12, 30))
        everyone = [u for group in users.values() for u in group]
        self.start_engine()
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.seed(everyone)
        self.connect(users)
        writers = self.writers(burst, 4, everyone)
        self.wait_commits(burst // 3)

        self.cluster.stop(immediate=True)
        stopped = time.monotonic()
        answers = []
        # Readiness is sampled for the whole time the database is down;
        # the writers meanwhile retry on their own.
        while time.monotonic() - stopped < DOWN_FOR:
            answers.append((time.monotonic() - stopped, self.readyz()))
            time.sleep(0.1)  # sampling rate, not synchronisation
        self.cluster.start()
        restarted = self.fault_ended = time.monotonic()
        self.assertIn(503, [a for _, a in answers],
                      f"/readyz never said 503 while the database was "
                      f"down: {answers[-5:]}")
        first_503 = next(t for t, a in answers if a == 503)
        after = [a for t, a in answers if t >= first_503]
        self.assertEqual(set(after), {503},
                         "/readyz said ready while the database was down")
        self.assertTrue(self.engine.wait_ready(30), self.engine.log()[-3000:])
        print(f"\n/readyz: 503 after {first_503:.1f} s down, ready again "
              f"{time.monotonic() - restarted:.1f} s after the restart")
        self.settle(writers, "PostgreSQL crash (immediate stop, 5 s down)",
                    f"{burst:,} publishes")


if __name__ == "__main__":
    unittest.main()
