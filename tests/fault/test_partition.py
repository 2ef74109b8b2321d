"""The engine's database connections cut by a TCP proxy twice mid-burst: all
proxied connections closed and new ones blackholed for a few seconds, then
healed. The writers keep their own line; the clients on all three
transports get every committed message once, in order, once the line is
back."""

import time
import unittest

from battery import FaultCase, sized, spread
from tcp_proxy import TcpProxy

CUT_FOR = 3.0


class PartitionTest(FaultCase):
    PG_TCP = True

    def test_database_line_cut_twice_mid_burst(self):
        proxy = TcpProxy(self.cluster.port).start()
        self.addCleanup(proxy.stop)
        self.engine_url = self.cluster.tcp_url(self.db, proxy.port)
        burst = sized(2000, 10000)
        users = spread(sized(12, 30))
        everyone = [u for group in users.values() for u in group]
        self.start_engine()
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.seed(everyone)
        self.connect(users)
        writers = self.writers(burst, 4, everyone)
        for share in (3, 6):
            self.wait_commits(burst * share // 9)
            proxy.cut()
            time.sleep(CUT_FOR)  # the length of the fault, not a wait
            proxy.heal()
            self.fault_ended = time.monotonic()
        self.assertTrue(self.engine.wait_ready(30), self.engine.log()[-3000:])
        print(f"\nproxy: {proxy.accepted} connections accepted, "
              f"{proxy.cuts} cuts")
        self.settle(writers, f"database line cut twice ({CUT_FOR:.0f} s "
                    "each)", f"{burst:,} publishes")


if __name__ == "__main__":
    unittest.main()
