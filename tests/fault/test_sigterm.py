"""SIGTERM with many connected clients (mostly WebSocket, some SSE and
long-poll) in the middle of a burst, and a restart: the engine stops in
order, every client reconnects to the new one and resumes, nothing is lost
or duplicated."""

import unittest

from battery import FaultCase, sized, spread


class SigtermTest(FaultCase):
    def test_sigterm_with_many_clients_and_a_restart(self):
        clients = sized(400, 2000)
        burst = sized(400, 2000)
        users = spread(clients, shares=(0.9, 0.05, 0.05))
        everyone = [u for group in users.values() for u in group]
        self.start_engine()
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.seed(everyone)
        self.connect(users)
        writers = self.writers(burst, 4, everyone,
                               fanout=sized((5, 15), (10, 30)))
        self.wait_commits(burst // 2)
        code, seconds = self.restart_engine("term")
        self.assertEqual(code, 0, "heraldd did not exit cleanly on SIGTERM")
        print(f"\nSIGTERM: heraldd exited 0 in {seconds:.1f} s with "
              f"{clients} clients connected")
        self.settle(writers, "SIGTERM and restart", f"{clients:,} clients, "
                    f"{burst:,} publishes")
        stayed = [c.user for c in self.checker.clients
                  if c.inbox.welcomes < 2]
        self.assertEqual(stayed, [], "clients that never reconnected")


if __name__ == "__main__":
    unittest.main()
