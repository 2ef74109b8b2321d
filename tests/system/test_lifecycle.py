"""heraldd as a process: health, readiness that follows the database,
migrations applied once by engines starting together, a changed migration
refused, and a clean exit on SIGTERM and SIGINT."""

import glob
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REPO, ClusterTestCase, Engine, wait_until  # noqa: E402

MIGRATION_FILES = sorted(
    os.path.basename(p) for p in glob.glob(os.path.join(REPO, "schema",
                                                        "[0-9]*.sql")))


class LifecycleTest(ClusterTestCase):
    def engine(self, *args):
        engine = Engine(self.url, *args)
        self.engines.append(engine)
        return engine

    def test_healthz_and_readyz(self):
        engine = self.engine().start()
        self.assertEqual(engine.get("/healthz"), (200, {"status": "ok"}))
        self.assertTrue(engine.wait_ready(), engine.log())
        status, body = engine.get("/readyz")
        self.assertEqual(body["status"], "ready")
        status, body = engine.get("/nowhere")
        self.assertEqual(status, 404)
        self.assertEqual(body["error"]["code"], "not_found")

    def test_sigterm_exits_zero_within_five_seconds(self):
        engine = self.engine().start()
        self.assertTrue(engine.wait_ready(), engine.log())
        code, seconds = engine.stop(signal.SIGTERM)
        self.assertEqual(code, 0, engine.log())
        self.assertLess(seconds, 5.0)
        # It left the node registry on its way out.
        self.assertEqual(self.cluster.psql(
            self.db, "SELECT count(*) FROM herald.nodes"), "0")

    def test_sigint_exits_zero_within_five_seconds(self):
        engine = self.engine().start()
        self.assertTrue(engine.wait_ready(), engine.log())
        code, seconds = engine.stop(signal.SIGINT)
        self.assertEqual(code, 0, engine.log())
        self.assertLess(seconds, 5.0)

    def test_readyz_follows_the_database(self):
        engine = self.engine().start()
        self.assertTrue(engine.wait_ready(), engine.log())
        self.cluster.stop()
        down = wait_until(lambda: engine.get("/readyz")[0] == 503, 10)
        self.assertTrue(down, engine.log())
        status, body = engine.get("/readyz")
        self.assertEqual(body["status"], "unavailable")
        self.assertIn("database", body["reason"])
        self.assertEqual(engine.get("/healthz")[0], 200)
        self.cluster.start()
        self.assertTrue(engine.wait_ready(15), engine.log())
        # A database stop is no reason to exit.
        self.assertIsNone(engine.proc.poll())
        code, seconds = engine.stop()
        self.assertEqual(code, 0, engine.log())
        self.assertLess(seconds, 5.0)

    def test_engine_started_before_its_database_waits_for_it(self):
        self.cluster.stop()
        engine = self.engine().start()
        self.assertEqual(engine.get("/healthz")[0], 200)
        # "starting" first, then the failed attempt's reason.
        self.assertTrue(wait_until(
            lambda: "unreachable" in engine.get("/readyz")[1]["reason"], 10))
        self.assertEqual(engine.get("/readyz")[0], 503)
        self.cluster.start()
        self.assertTrue(engine.wait_ready(15), engine.log())

    def test_two_engines_starting_together_migrate_once(self):
        first = self.engine()
        second = self.engine()
        first.start(expect_port=False)
        second.start(expect_port=False)
        for engine in (first, second):
            self.assertTrue(wait_until(lambda: engine.port, 10))
            self.assertTrue(engine.wait_ready(), engine.log())
        rows = self.cluster.psql(
            self.db, "SELECT string_agg(name, ',' ORDER BY version)"
                     " FROM herald.schema_migrations")
        self.assertEqual(rows.split(","), MIGRATION_FILES)
        applied = [line for e in (first, second) for line in e.stderr_lines
                   if "applied migration" in line]
        self.assertEqual(len(applied), len(MIGRATION_FILES),
                         first.log() + second.log())
        self.assertEqual(self.cluster.psql(
            self.db, "SELECT count(*) FROM herald.nodes"), "2")

    def test_changed_applied_migration_is_refused(self):
        engine = self.engine().start()
        self.assertTrue(engine.wait_ready(), engine.log())
        engine.stop()
        first = MIGRATION_FILES[0]
        self.cluster.psql(self.db, "UPDATE herald.schema_migrations SET"
                                   " checksum = 'tampered' WHERE version = 1")
        refused = self.engine().start(expect_port=False)
        self.assertEqual(refused.wait_exit(15), 1)
        log = refused.log()
        self.assertIn(first, log)
        self.assertIn("was changed after it was applied", log)

    def test_bad_configuration_is_reported(self):
        engine = Engine(self.url, "--log.level=loud")
        self.engines.append(engine)
        engine.start(expect_port=False)
        self.assertEqual(engine.wait_exit(10), 2)
        self.assertIn("log.level", engine.log())
        engine = Engine(self.url, "--delivery.write-delay=2s")
        self.engines.append(engine)
        engine.start(expect_port=False)
        self.assertEqual(engine.wait_exit(10), 2)
        self.assertIn("delivery.write-delay must be between 0 and 1s",
                      engine.log())


if __name__ == "__main__":
    unittest.main()
