"""Database-triggered pushes through a running heraldd: committed publishes
become deliveries exactly once, even while the listener's connection is
killed every second, and with two engines expanding one outbox."""

import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402

SEED = """
INSERT INTO herald.apps (name) VALUES ('shop');
INSERT INTO herald.templates (app_id, code, web_title, web_body, sms_body,
                              status)
  VALUES (1, 'order_shipped', 'Order {{order}}', 'Order {{order}} shipped',
          'Order {{order}} shipped', 'approved');
INSERT INTO herald.merchants (app_id, external_id) VALUES (1, 'm1');
INSERT INTO herald.stores (app_id, merchant_id, external_id)
  VALUES (1, 1, 's1'), (1, 1, 's2');
INSERT INTO herald.users (app_id, external_id, merchant_id)
  VALUES (1, 'boss', 1), (1, 'u1', NULL), (1, 'u2', NULL);
INSERT INTO herald.store_members (store_id, user_id)
  VALUES (1, 2), (2, 2), (2, 3);
"""
# merchant:m1 reaches boss, u1 (in two stores, once) and u2.
RECIPIENTS = 3


class IngestTest(ClusterTestCase):
    def start_engine(self, *args):
        engine = Engine(self.url, *args).start()
        self.engines.append(engine)
        self.assertTrue(engine.wait_ready(), engine.log())
        return engine

    def publish_burst(self, count, prefix):
        """count publishes, each committed on its own, from one psql."""
        script = "".join(
            "SELECT herald.publish('shop', 'order_shipped', 'merchant:m1',"
            f" '{{\"order\": \"{prefix}-{i}\"}}', ARRAY['web']);\n"
            for i in range(count))
        subprocess.run(["psql", self.cluster.database_url(self.db), "-q",
                        "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"],
                       input=script, text=True, check=True)

    def wait_all_processed(self, expected, timeout=120):
        def done():
            return self.sql("SELECT count(*) FROM herald.outbox"
                            " WHERE state = 'processed'") == str(expected)
        return wait_until(done, timeout, interval=0.2)

    def assert_exactly_once(self, messages):
        self.assertEqual(self.sql("SELECT count(*) FROM herald.outbox"
                                  " WHERE state <> 'processed'"), "0")
        self.assertEqual(self.sql("SELECT count(*) FROM herald.web_deliveries"),
                         str(messages * RECIPIENTS))
        self.assertEqual(self.sql(
            "SELECT count(*) FROM (SELECT message_id, user_id FROM"
            " herald.web_deliveries GROUP BY 1, 2 HAVING count(*) > 1) d"),
            "0")
        # Every user's feed holds every message once, each at its own
        # position: strictly increasing, one per message.
        self.assertEqual(self.sql(
            "SELECT count(*) FROM (SELECT user_id FROM herald.web_deliveries"
            " GROUP BY user_id HAVING count(DISTINCT seq) = count(*)"
            f" AND count(*) = {messages}) ok"), str(RECIPIENTS))
        # Positions are unique across the log: one per message.
        self.assertEqual(self.sql(
            "SELECT count(DISTINCT position) FROM herald.outbox"
            " WHERE state = 'processed'"), str(messages))

    def test_notify_wakes_the_engine_for_a_committed_publish(self):
        # With the safety-net poll a minute away, only NOTIFY can explain an
        # expansion within the wait below.
        engine = self.start_engine("--ingest.poll-interval=60s")
        self.sql(SEED)
        message = self.sql("SELECT herald.publish('shop', 'order_shipped',"
                           " 'merchant:m1', '{\"order\": \"A-1\"}')")
        self.assertTrue(self.wait_all_processed(1, timeout=20), engine.log())
        # Web from the log at once; sms rows by the channel step after it.
        self.assertTrue(wait_until(lambda: self.sql(
            "SELECT count(*) FROM (SELECT user_id, channel FROM"
            " herald.web_deliveries WHERE message_id = " + message +
            " UNION ALL SELECT user_id, channel FROM herald.deliveries"
            " WHERE message_id = " + message + ") d")
            == str(RECIPIENTS * 2), 20), engine.log())
        self.assertEqual(self.sql(
            "SELECT rendered->'web'->>'body' FROM herald.outbox"),
            "Order A-1 shipped")

    def test_burst_while_the_listener_is_killed_every_second(self):
        engine = self.start_engine()
        self.sql(SEED)
        messages = 5000
        stop = threading.Event()
        kills = []

        def killer():
            while not stop.wait(1.0):
                killed = self.sql(
                    "SELECT count(pg_terminate_backend(pid)) FROM"
                    " pg_stat_activity WHERE application_name ="
                    " 'herald-listener' AND datname = current_database()")
                kills.append(int(killed))
        thread = threading.Thread(target=killer)
        thread.start()
        try:
            self.publish_burst(messages, "B")
            stop.wait(2.5)  # keep killing a little after the burst
        finally:
            stop.set()
            thread.join()
        self.assertGreaterEqual(sum(kills), 2, "the listener was never hit")
        self.assertTrue(self.wait_all_processed(messages), engine.log())
        self.assert_exactly_once(messages)
        reconnects = [line for line in engine.stderr_lines
                      if "reconnected; catching up" in line]
        self.assertGreaterEqual(len(reconnects), 1, engine.log())
        self.assertIsNone(engine.proc.poll())

    def test_two_engines_expand_exactly_once(self):
        first = self.start_engine("--ingest.batch-size=20")
        second = self.start_engine("--ingest.batch-size=20")
        self.sql(SEED)
        messages = 3000
        self.publish_burst(messages, "T")
        self.assertTrue(self.wait_all_processed(messages),
                        first.log() + second.log())
        self.assert_exactly_once(messages)


if __name__ == "__main__":
    unittest.main()
