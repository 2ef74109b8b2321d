"""What every fault scenario shares: a private PostgreSQL cluster and
heraldd (tests/system/harness.py), an app with users spread over the three
transports, the checker's clients, writers, and the figures line.

HERALD_FAULT_FULL=1 (scripts/test.sh --full) selects the issue's full sizes;
HERALD_FAULT_REPORT=FILE appends each scenario's figures line to FILE."""

import json
import os
import random
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
sys.path.insert(0, os.path.dirname(__file__))
from checker import (Checker, Endpoint, Ledger, Writers, http_request,  # noqa
                     plan)
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402

FULL = os.environ.get("HERALD_FAULT_FULL") == "1"
ADMIN = "fault-admin-token"

SEED = """
INSERT INTO herald.apps (name, allowed_origins) VALUES ('shop', '{*}');
INSERT INTO herald.templates (app_id, code, web_title, web_body, status)
  VALUES (1, 'note', 'Note {{n}}', 'Body {{n}}', 'approved');
"""

# Fast enough resends to keep scenarios short; otherwise the defaults.
ENGINE_ARGS = ("--delivery.ack-timeout=1s", f"--admin.token={ADMIN}",
               "--log.level=info")

HEADER = ("| scenario | size | clients (ws/sse/poll) | messages | lost "
          "| duplicated | raw redeliveries | reconnects | drain s | result |")


def sized(default, full):
    return full if FULL else default


def spread(count, shares=(0.34, 0.33, 0.33)):
    """count users named u0..., split over ws, sse and poll."""
    users = [f"u{i}" for i in range(count)]
    ws_n = round(count * shares[0])
    sse_n = round(count * shares[1])
    return {"ws": users[:ws_n], "sse": users[ws_n:ws_n + sse_n],
            "poll": users[ws_n + sse_n:]}


class FaultCase(ClusterTestCase):
    """One scenario: self.engine runs, self.checker holds the clients."""

    engine_args = ENGINE_ARGS

    def setUp(self):
        super().setUp()
        self.endpoint = Endpoint()
        self.database_url = self.cluster.database_url(self.db)
        self.engine_url = self.database_url
        self.engine = None
        self.checker = None
        self.ledger = Ledger()
        self.started = time.monotonic()
        self.fault_ended = None  # set by a scenario as its fault ends

    def tearDown(self):
        if self.checker:
            self.checker.stop()
        super().tearDown()

    # The engine.

    def start_engine(self, *extra):
        engine = Engine(self.engine_url, *self.engine_args, *extra).start()
        self.engine_extra = extra
        self.engines.append(engine)
        self.engine = engine
        self.endpoint.port = engine.port
        return engine

    def restart_engine(self, how="kill"):
        """Stops the engine (kill: SIGKILL; term: SIGTERM, returning its
        exit code and seconds) and starts another at once with the same
        arguments."""
        old = self.engine
        result = None
        if how == "kill":
            old.kill()
        else:
            result = old.stop(timeout=30)
        self.start_engine(*self.engine_extra)
        self.fault_ended = time.monotonic()
        return result

    def admin(self, method, path, body=None):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.engine.admin_port,
                                          timeout=10)
        try:
            conn.request(method, path,
                         body=json.dumps(body) if body is not None else None,
                         headers={"Authorization": f"Bearer {ADMIN}",
                                  "Content-Type": "application/json"})
            res = conn.getresponse()
            raw = res.read()
            return res.status, json.loads(raw) if raw else None
        finally:
            conn.close()

    def crash_user(self, user):
        """Crashes the user's actor through heraldctl (the route when the
        tool is not built); True when the engine took it."""
        tool = os.environ.get("HERALDCTL")
        if tool:
            out = subprocess.run(
                [tool, "--url", f"http://127.0.0.1:{self.engine.admin_port}",
                 "--token", ADMIN, "crash", "shop", user],
                capture_output=True, text=True, timeout=20)
            return out.returncode == 0
        status, _ = self.admin(
            "POST", f"/v1/admin/debug/users/shop/{user}/crash")
        return status == 202

    # The app, its users and the clients.

    def seed(self, users):
        self.sql(SEED)
        values = ",".join(f"(1, '{u}')" for u in users)
        self.sql(f"INSERT INTO herald.users (app_id, external_id)"
                 f" VALUES {values}")
        secret = self.sql("SELECT token_secret FROM herald.apps")
        self.checker = Checker(self.endpoint, secret)
        # The engine reloads apps every 2 s: wait until it knows "shop".
        token = urllib.parse.quote(self.checker.token(users[0]))
        known = wait_until(lambda: self.checker.call(http_request(
            self.endpoint.port, "GET",
            f"/v1/poll?token={token}&after=0&wait=0"))[0] == 200, 15)
        self.assertTrue(known, self.engine.log()[-2000:])

    def connect(self, spread_users):
        clients = {}
        for transport, users in spread_users.items():
            clients[transport] = self.checker.add(transport, users)
        return clients

    def writers(self, count, writers, users, seed=1, **kwargs):
        """Writers committing count publishes in total, started."""
        rng = random.Random(seed)
        plans = [plan(count // writers, users, w, rng, **kwargs)
                 for w in range(writers)]
        return Writers(self.database_url, self.ledger).start(plans)

    def publish_round(self, count, users, prefix):
        """count publishes to all of users, committed one after another."""
        from checker import Op
        ops = [Op("commit", f"{prefix}-{i}", list(users), f"{prefix}-{i}-key")
               for i in range(count)]
        writers = Writers(self.database_url, self.ledger).start([ops])
        self.assertTrue(writers.join(60))
        self.assertEqual(writers.failures, [])

    def wait_commits(self, count, timeout=60):
        self.assertTrue(
            wait_until(lambda: self.ledger.commits() >= count, timeout,
                       0.01), f"only {self.ledger.commits()} commits")

    # The end of every scenario.

    def settle(self, writers, scenario, size, timeout=None):
        """Waits for the writers and for the clients to drain, sends a
        marker to everyone and waits for it (so that anything extra would
        have come before it), then checks, reports and asserts."""
        timeout = timeout or sized(90, 300)
        if writers:
            self.assertTrue(writers.join(timeout), "writers did not finish")
            self.assertEqual(writers.failures, [],
                             "publishes that never went through")
        # Counted from the later of the last commit and the fault's end.
        since = max(writers.finished_at if writers else 0,
                    self.fault_ended or 0) or time.monotonic()
        drain = self.checker.wait_drained(self.ledger, timeout)
        if drain is not None:
            drain = max(0.0, time.monotonic() - since)
            self.marker()
        figures, problems = self.checker.verdict(self.ledger)
        self.report(scenario, size, figures, drain, problems)
        if problems or drain is None:
            print("engine log, last lines:\n" + self.engine.log()[-3000:])
        self.assertIsNotNone(drain, "clients did not get every committed "
                             f"message within {timeout} s: "
                             + "; ".join(problems[:10]))
        self.assertEqual(problems, [])
        return figures, drain

    def marker(self):
        from checker import Op, Writers as W
        users = [c.user for c in self.checker.clients]
        markers = Ledger()
        ops = [Op("commit", f"marker-{i}", users[i:i + 200],
                  f"marker-{i}-key") for i in range(0, len(users), 200)]
        W(self.database_url, markers).start([ops]).join(60)
        for tag, (message_id, targets) in markers.committed.items():
            with self.ledger.lock:
                self.ledger.committed[tag] = (message_id, targets)
        self.checker.wait_drained(self.ledger, sized(60, 180))

    def report(self, scenario, size, figures, drain, problems):
        counts = {}
        for client in self.checker.clients:
            counts[client.transport] = counts.get(client.transport, 0) + 1
        mix = "/".join(str(counts.get(t, 0)) for t in ("ws", "sse", "poll"))
        line = (f"| {scenario} | {size} | {mix} | {figures['messages']:,} "
                f"| {figures['lost']} | {figures['duplicated']} "
                f"| {figures['redeliveries']:,} | {figures['reconnects']:,} "
                f"| {'%.1f' % drain if drain is not None else 'never'} "
                f"| {'pass' if not problems and drain is not None else 'FAIL'}"
                " |")
        print("\n" + HEADER + "\n" + line, flush=True)
        path = os.environ.get("HERALD_FAULT_REPORT")
        if path:
            with open(path, "a") as out:
                out.write(line + "\n")
