"""Two heraldd on one database: clients connected to engine A receive what
engine B expands, through the stream log A tails. A expands nothing
(`ingest.expanders=0`), so every message it delivers came through B's
commit and A's tailer. Exactly once per user after dedup by seq, in order,
personal, store and topic messages alike; a membership that changes while
the engines run shows on A from the position it began."""

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import unittest

import websockets

sys.path.insert(0, os.path.dirname(__file__))
from clients import SseReader, http_call, mint  # noqa: E402
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402

ADMIN = "cluster-admin-token"
USERS = [f"u{i}" for i in range(12)]
# Store s1: u0-u5. Topic t1: the even users.
SEED = """
INSERT INTO herald.apps (name) VALUES ('shop');
INSERT INTO herald.templates (app_id, code, web_title, web_body, status)
  VALUES (1, 'note', 'Note {{n}}', 'Body {{n}}', 'approved');
INSERT INTO herald.merchants (app_id, external_id) VALUES (1, 'm1');
INSERT INTO herald.stores (app_id, merchant_id, external_id)
  VALUES (1, 1, 's1');
INSERT INTO herald.users (app_id, external_id)
  SELECT 1, 'u' || g FROM generate_series(0, 11) g;
INSERT INTO herald.store_members (store_id, user_id)
  SELECT 1, id FROM herald.users WHERE external_id IN
    ('u0', 'u1', 'u2', 'u3', 'u4', 'u5');
INSERT INTO herald.topics (app_id, name) VALUES (1, 't1');
INSERT INTO herald.subscriptions (topic_id, user_id)
  SELECT 1, id FROM herald.users
   WHERE substr(external_id, 2)::int % 2 = 0;
"""
STORE = {f"u{i}" for i in range(6)}
TOPIC = {u for u in USERS if int(u[1:]) % 2 == 0}


def audience(target):
    kind, _, name = target.partition(":")
    if kind == "user":
        return {name}
    return STORE if kind == "store" else TOPIC


class WebSocketClient:
    """One user's herald.v1 WebSocket in a thread of its own: acks what it
    gets, keeps every msg frame (resends included) for the checks."""

    def __init__(self, port, token):
        self.url = f"ws://127.0.0.1:{port}/v1/ws?token={token}"
        self.frames = []
        self.welcomed = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self.run()),
                                       daemon=True)
        self.thread.start()

    async def run(self):
        async with websockets.connect(self.url,
                                      subprotocols=["herald.v1"]) as ws:
            await ws.send(json.dumps({"type": "hello", "last_seq": 0}))
            while not self.stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.2)
                except asyncio.TimeoutError:
                    continue
                frame = json.loads(text)
                if frame["type"] == "welcome":
                    self.welcomed.set()
                elif frame["type"] == "msg":
                    self.frames.append(frame)
                    await ws.send(json.dumps({"type": "ack",
                                              "seq": frame["seq"]}))

    def bodies(self):
        """What the user has after dropping seqs already seen (herald.js
        does the same), in arrival order."""
        out, last = [], 0
        for frame in list(self.frames):
            if frame["seq"] > last:
                out.append(frame["body"])
                last = frame["seq"]
        return out

    def close(self):
        self.stop.set()
        self.thread.join(5)


class ClusterTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        url = self.cluster.database_url(self.db)
        self.delivering = Engine(url, "--ingest.expanders=0",
                                 f"--admin.token={ADMIN}").start()
        self.expanding = Engine(url).start()
        for engine in (self.delivering, self.expanding):
            self.engines.append(engine)
            self.assertTrue(engine.wait_ready(), engine.log())
        self.sql(SEED)
        self.secret = self.sql("SELECT token_secret FROM herald.apps")
        # The engines reload apps every 2 s: wait until A knows "shop".
        self.assertTrue(wait_until(lambda: self.poll("u0", 0)[0] == 200, 10))

    def token(self, user):
        return mint(self.secret, "shop", user)

    def poll(self, user, after):
        return http_call(self.delivering.port, "GET",
                         f"/v1/poll?token={self.token(user)}&after={after}"
                         "&wait=0")

    def publish(self, messages):
        """Each (target, n) committed on its own, from one psql."""
        script = "".join(
            f"SELECT herald.publish('shop', 'note', ARRAY['{target}'],"
            f" jsonb_build_object('n', {n}));\n" for target, n in messages)
        subprocess.run(["psql", self.cluster.database_url(self.db), "-q",
                        "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"],
                       input=script, text=True, check=True)

    def test_clients_on_one_engine_get_what_the_other_expands(self):
        clients = {u: WebSocketClient(self.delivering.port, self.token(u))
                   for u in USERS}
        try:
            for client in clients.values():
                self.assertTrue(client.welcomed.wait(10))
            targets = ([f"user:{u}" for u in USERS] + ["store:s1", "topic:t1"])
            plan = [(targets[i % len(targets)], i) for i in range(420)]
            self.publish(plan)
            expected = {u: [f"Body {n}" for target, n in plan
                            if u in audience(target)] for u in USERS}
            self.assertTrue(wait_until(
                lambda: all(len(clients[u].bodies()) >= len(expected[u])
                            for u in USERS), 60),
                {u: (len(clients[u].bodies()), len(expected[u]))
                 for u in USERS})
            for u in USERS:
                self.assertEqual(clients[u].bodies(), expected[u], u)
            # Every message was expanded, and A has no expander to do it.
            self.assertEqual(self.sql(
                "SELECT count(*) FROM herald.outbox"
                " WHERE state = 'processed'"), str(len(plan)))
            # A supervisor gives its children a second to describe
            # themselves: on a busy machine a subtree can be missing from
            # one answer, so ask until the ingest subtree is in it.
            def ingest_children():
                status, _, tree = http_call(
                    self.delivering.admin_port, "GET",
                    "/v1/admin/debug/tree",
                    headers={"Authorization": f"Bearer {ADMIN}"})
                names = set(re.findall(r'"name": ?"([\w-]+)"',
                                       json.dumps(tree)))
                return names if status == 200 and "tailer" in names else None
            names = wait_until(ingest_children, 30, interval=0.5)
            self.assertTrue(names, "no ingest subtree in the debug tree")
            self.assertFalse([n for n in names if n.startswith("expand")],
                             names)

            # u11 joins the store now: on A, from the next store message on.
            self.sql("INSERT INTO herald.store_members (store_id, user_id)"
                     " SELECT 1, id FROM herald.users"
                     " WHERE external_id = 'u11'")
            before = len(clients["u11"].bodies())
            self.publish([("store:s1", 1000 + i) for i in range(5)])
            self.assertTrue(wait_until(
                lambda: len(clients["u11"].bodies()) >= before + 5, 30),
                clients["u11"].bodies()[before:])
            self.assertEqual(clients["u11"].bodies()[before:],
                             [f"Body {1000 + i}" for i in range(5)])
        finally:
            for client in clients.values():
                client.close()

        # SSE and long-poll on A resume from the same log.
        status, _, body = self.poll("u1", 0)
        self.assertEqual(status, 200)
        self.assertEqual([m["body"] for m in body["messages"]][:3],
                         expected["u1"][:3])
        stream = SseReader(self.delivering.port, self.token("u2"),
                           last_event_id=0)
        try:
            event, _, welcome = stream.next_event()
            self.assertEqual(event, "welcome")
            got = [stream.next_event()[2]["body"] for _ in range(3)]
            self.assertEqual(got, expected["u2"][:3])
        finally:
            stream.close()


if __name__ == "__main__":
    unittest.main()
