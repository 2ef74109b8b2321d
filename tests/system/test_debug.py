"""The debug tool against a running engine: heraldctl --json shows the
actor tree, one user's sessions and one message's trace with the right
actors, seqs and states; an injected crash shows as a restart while the
user's session keeps receiving; a real Prometheus scrapes /metrics and sees
the counters move."""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import websockets

sys.path.insert(0, os.path.dirname(__file__))
from clients import SEED, mint  # noqa: E402
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402

HERALDCTL = os.environ.get("HERALDCTL") or os.path.join(
    os.path.dirname(os.environ.get("HERALDD", "build/dev/tools/heraldd")),
    "heraldctl")
ADMIN = "debug-admin-token"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


def nodes(tree):
    """Every node of the actor tree, depth first."""
    yield tree
    for child in tree.get("children") or []:
        yield from nodes(child)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DebugToolTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.engine = Engine(self.url, f"--admin.token={ADMIN}",
                             "--delivery.ack-timeout=30s").start()
        self.engines.append(self.engine)
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.sql(SEED)
        self.secret = self.sql("SELECT token_secret FROM herald.apps")

    def ctl(self, *args, token=ADMIN, url=None, check=True):
        url = url or f"http://127.0.0.1:{self.engine.admin_port}"
        out = subprocess.run([HERALDCTL, "--url", url, "--token", token,
                              *args], capture_output=True, text=True,
                             timeout=30)
        if check:
            self.assertEqual(out.returncode, 0, out.stderr)
        return out

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def publish(self, n):
        return int(self.sql(
            f"SELECT herald.publish('shop', 'note', 'user:ada',"
            f" '{{\"n\": {n}}}')"))

    async def session(self):
        token = mint(self.secret, "shop", "ada")
        # The engine reloads apps every 2 s: retry until it knows "shop".
        deadline = time.monotonic() + 10
        while True:
            try:
                ws = await websockets.connect(
                    f"ws://127.0.0.1:{self.engine.port}/v1/ws?token={token}",
                    subprotocols=["herald.v1"])
                break
            except websockets.exceptions.InvalidStatusCode:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        await ws.send(json.dumps({"type": "hello", "last_seq": 0}))
        welcome = json.loads(await ws.recv())
        self.assertEqual(welcome["type"], "welcome")
        return ws

    async def next_msg(self, ws):
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame["type"] == "msg":
                return frame

    def test_tree_user_and_trace_show_the_live_engine(self):
        async def scenario():
            ws = await self.session()
            first, second = self.publish(1), self.publish(2)
            self.assertEqual((await self.next_msg(ws))["seq"], 1)
            self.assertEqual((await self.next_msg(ws))["seq"], 2)
            await ws.send(json.dumps({"type": "ack", "seq": 1}))

            # One user: one WebSocket session, 2 sent, 1 acked.
            def user_view():
                view = self.ctl_json("user", "shop", "ada")
                return view if view["sessions"] and \
                    view["sessions"][0]["last_acked_seq"] == 1 else None
            user = wait_until(user_view, 5)
            self.assertTrue(user, self.ctl_json("user", "shop", "ada"))
            self.assertEqual(len(user["sessions"]), 1)
            session = user["sessions"][0]
            self.assertEqual(session["transport"], "websocket")
            self.assertEqual((session["last_sent_seq"], session["unacked"]),
                             (2, 1))
            self.assertEqual(user["last_seq"], 2)

            # The tree: every subtree of the architecture, running. A
            # subtree busy with the database when asked shows as
            # unresponsive for that one answer: ask until all answer.
            seen = {}

            def whole_tree():
                seen["tree"] = self.ctl_json("tree")
                return all(n.get("state", "running") == "running"
                           for n in nodes(seen["tree"]))
            wait_until(whole_tree, 20)
            tree = seen["tree"]
            self.assertEqual(tree["name"], "root")
            by_name = {n.get("name"): n for n in nodes(tree)}
            for name in ("users", "ingest", "templates", "channels",
                         "listener", "expander-1", "sms-1", "mobile-1"):
                self.assertIn(name, by_name)
            self.assertTrue(all(n.get("state", "running") == "running"
                                for n in nodes(tree)), tree)
            shards = [n for n in nodes(tree) if n.get("kind") == "user_shard"]
            self.assertEqual(sum(s["users"] for s in shards), 1)
            # This engine expanded both messages: its tailer had them from
            # the expander, not from a read of the log.
            (tailer,) = [n for n in nodes(tree) if n.get("kind") == "tailer"]
            self.assertGreaterEqual(tailer["handed_over"], 1, tailer)
            self.assertGreaterEqual(tailer["position"], 2, tailer)
            human = self.ctl("tree").stdout
            self.assertIn("root", human)
            self.assertIn("└── ", human)

            # The trace of message 2: expanded, seq 2, pushed on the session.
            trace = self.ctl_json("trace", str(second))
            self.assertEqual(trace["state"], "processed")
            (delivery,) = trace["deliveries"]
            self.assertEqual((delivery["user"], delivery["seq"],
                              delivery["channel"]), ("ada", 2, "web"))
            (push,) = delivery["pushes"]
            self.assertEqual(push["session"], session["id"])
            self.assertEqual(push["transport"], "websocket")
            self.assertFalse(push["acked_by_session"])
            first_trace = self.ctl_json("trace", str(first))
            self.assertTrue(
                first_trace["deliveries"][0]["pushes"][0]["acked_by_session"])
            self.assertIn("pushed to session",
                          self.ctl("trace", str(second)).stdout)

            # tail from the start shows both messages.
            lines = self.ctl("--json", "tail", "--from", "0", "-n",
                             "2").stdout.splitlines()
            self.assertEqual([json.loads(l)["id"] for l in lines],
                             [first, second])
            await ws.close()
        run(scenario())

    def test_a_crashed_user_actor_restarts_and_its_session_keeps_receiving(self):
        async def scenario():
            ws = await self.session()
            self.publish(1)
            self.assertEqual((await self.next_msg(ws))["seq"], 1)
            await ws.send(json.dumps({"type": "ack", "seq": 1}))
            crashed = self.ctl_json("crash", "shop", "ada")
            self.assertIn("crashed", crashed)

            def restarts():
                tree = self.ctl_json("tree")
                return sum(n.get("user_restarts", 0) for n in nodes(tree)
                           if n.get("kind") == "user_shard")
            self.assertTrue(wait_until(lambda: restarts() == 1, 5))
            self.publish(2)
            self.assertEqual((await self.next_msg(ws))["seq"], 2)
            user = self.ctl_json("user", "shop", "ada")
            self.assertNotEqual(user["id"], crashed["crashed"])
            self.assertEqual(len(user["sessions"]), 1)
            await ws.close()
        run(scenario())

    def test_prometheus_scrapes_metrics_and_sees_them_move(self):
        text = self.ctl("metrics").stdout
        check = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

        folder = tempfile.mkdtemp(prefix="herald-prom-")
        self.addCleanup(shutil.rmtree, folder, True)
        config = os.path.join(folder, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: herald
    authorization:
      credentials: {ADMIN}
    static_configs:
      - targets: ["127.0.0.1:{self.engine.admin_port}"]
""")
        port = free_port()
        prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(folder, 'data')}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(prometheus.wait, 10)
        self.addCleanup(prometheus.terminate)

        def query(expr):
            url = (f"http://127.0.0.1:{port}/api/v1/query?"
                   + urllib.parse.urlencode({"query": expr}))
            try:
                with urllib.request.urlopen(url, timeout=2) as res:
                    result = json.load(res)["data"]["result"]
            except OSError:
                return None
            return float(result[0]["value"][1]) if result else None

        self.assertTrue(wait_until(lambda: query("up{job='herald'}") == 1, 30))

        async def scenario():
            ws = await self.session()
            for n in range(1, 4):
                self.publish(n)
            for _ in range(3):
                await ws.send(json.dumps(
                    {"type": "ack", "seq": (await self.next_msg(ws))["seq"]}))
            sent = wait_until(lambda: (query(
                'herald_deliveries_total{event="sent"}') or 0) >= 3, 15)
            self.assertTrue(sent)
            self.assertTrue(wait_until(lambda: query(
                'herald_deliveries_total{event="acked"}') == 3, 15))
            self.assertTrue(wait_until(lambda: query(
                'herald_connections{transport="websocket"}') == 1, 15))
            self.assertTrue(wait_until(lambda: query(
                'herald_messages_total{outcome="processed"}') == 3, 15))
            self.assertTrue(wait_until(lambda: query(
                "herald_commit_to_send_seconds_count") == 3, 15))
            await ws.close()
        run(scenario())

    def test_heraldctl_says_clearly_when_it_cannot_get_in(self):
        wrong = self.ctl("tree", token="not-the-token", check=False)
        self.assertEqual(wrong.returncode, 3)
        self.assertIn("check --token", wrong.stderr)
        gone = self.ctl("tree", url=f"http://127.0.0.1:{free_port()}",
                        check=False)
        self.assertEqual(gone.returncode, 2)
        self.assertIn("heraldctl:", gone.stderr)
        health = self.ctl_json("health")
        self.assertEqual(health["readyz"]["status"], "ready")
        # The public port has no admin routes: heraldctl says where to go.
        public = self.ctl("tree", url=f"http://127.0.0.1:{self.engine.port}",
                          check=False)
        self.assertEqual(public.returncode, 1)
        self.assertIn("admin listener", public.stderr)

    def test_a_trace_always_answers_with_json(self):
        def trace(message_id):
            url = (f"http://127.0.0.1:{self.engine.admin_port}"
                   f"/v1/admin/debug/messages/{message_id}/trace")
            request = urllib.request.Request(
                url, headers={"Authorization": f"Bearer {ADMIN}"})
            try:
                with urllib.request.urlopen(request, timeout=60) as res:
                    return res.status, json.loads(res.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())
        status, body = trace(999999)
        self.assertEqual(status, 404, body)
        self.assertIn("code", body["error"])
        # The database gone: still an answer, a JSON error, not a hang.
        self.cluster.stop()
        status, body = trace(1)
        self.assertIn(status, (500, 503, 504), body)
        self.assertIn("code", body["error"])


if __name__ == "__main__":
    unittest.main()
