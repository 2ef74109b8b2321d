"""TLS and plain HTTP on one port: with a certificate configured, heraldd
tells a TLS ClientHello from a plain request by its first bytes, and every
transport works over either."""

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

import websockets
import websockets.exceptions

sys.path.insert(0, os.path.dirname(__file__))
from clients import SEED, SseReader, http_call, mint  # noqa: E402
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402


def make_certificate(folder):
    """A self-signed certificate for 127.0.0.1; (cert path, key path)."""
    cert = os.path.join(folder, "cert.pem")
    key = os.path.join(folder, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


class TlsTest(ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.folder = tempfile.mkdtemp(prefix="herald-tls-")
        cls.cert, cls.key = make_certificate(cls.folder)

    def setUp(self):
        super().setUp()
        self.engine = Engine(self.cluster.database_url(self.db),
                             f"--http.tls-cert={self.cert}",
                             f"--http.tls-key={self.key}").start()
        self.engines.append(self.engine)
        self.port = self.engine.port
        # Trusts exactly the test certificate, checking the host name.
        self.tls = ssl.create_default_context(cafile=self.cert)
        self.assertTrue(wait_until(
            lambda: http_call(self.port, "GET", "/readyz",
                              tls=self.tls)[0] == 200, 15), self.engine.log())
        self.sql(SEED)
        self.secret = self.sql("SELECT token_secret FROM herald.apps")
        self.assertTrue(wait_until(
            lambda: self.poll(after=0, wait=0)[0] == 200, 10))

    def token(self, user="ada"):
        return mint(self.secret, "shop", user)

    def poll(self, after, wait, tls=True):
        return http_call(
            self.port, "GET",
            f"/v1/poll?token={self.token()}&after={after}&wait={wait}",
            tls=self.tls if tls else None)

    def publish(self, n):
        self.sql(f"SELECT herald.publish('shop', 'note', 'user:ada', "
                 f"jsonb_build_object('n', {n}))")

    def test_plain_and_tls_share_the_port(self):
        status, _, body = http_call(self.port, "GET", "/healthz")
        self.assertEqual(status, 200)
        status, _, body_tls = http_call(self.port, "GET", "/healthz",
                                        tls=self.tls)
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], body_tls["status"])
        self.assertIn("https://", "\n".join(self.engine.stdout_lines))

    def test_websocket_over_tls_receives_and_acks(self):
        async def scenario():
            async with websockets.connect(
                    f"wss://127.0.0.1:{self.port}/v1/ws?token={self.token()}",
                    subprotocols=["herald.v1"], ssl=self.tls) as ws:
                await ws.send(json.dumps({"type": "hello", "last_seq": 0}))
                self.assertEqual(json.loads(await ws.recv())["type"],
                                 "welcome")
                self.publish(1)
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                self.assertEqual((msg["seq"], msg["title"]), (1, "Note 1"))
                await ws.send(json.dumps({"type": "ack", "seq": 1}))
                self.assertTrue(wait_until(lambda: self.sql(
                    "SELECT state FROM herald.web_deliveries") == "acked", 5))
            # A normal close ends with the TLS teardown; the engine keeps
            # serving.
            self.assertEqual(http_call(self.port, "GET", "/healthz",
                                       tls=self.tls)[0], 200)
        asyncio.run(asyncio.wait_for(scenario(), 60))

    def test_sse_and_long_poll_over_tls(self):
        self.publish(1)
        self.publish(2)
        # Both in the log first: a Last-Event-ID past the feed's end would
        # (rightly) resume at the end instead.
        self.assertTrue(wait_until(lambda: self.sql(
            "SELECT count(*) FROM herald.web_deliveries") == "2", 30))
        reader = SseReader(self.port, self.token(), last_event_id=1,
                           tls=self.tls)
        try:
            self.assertEqual(reader.status, 200)
            events = [reader.next_event() for _ in range(2)]
            self.assertEqual(events[0][0], "welcome")
            self.assertEqual((events[1][0], events[1][1]), ("msg", "2"))
        finally:
            reader.close()
        status, _, body = self.poll(after=0, wait=0)
        self.assertEqual(status, 200)
        self.assertEqual([m["seq"] for m in body["messages"]], [1, 2])

    def test_bad_token_is_refused_before_the_upgrade_over_tls(self):
        async def upgrade():
            await websockets.connect(
                f"wss://127.0.0.1:{self.port}/v1/ws?token=not-a-token",
                subprotocols=["herald.v1"], ssl=self.tls)
        with self.assertRaises(websockets.exceptions.InvalidStatusCode) as ctx:
            asyncio.run(asyncio.wait_for(upgrade(), 20))
        self.assertEqual(ctx.exception.status_code, 401)

    def test_a_broken_handshake_costs_only_its_connection(self):
        # The start of a ClientHello (a handshake record, message type 1)
        # followed by garbage, then a client that does not trust the
        # certificate.
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            s.sendall(b"\x16\x03\x01\x00\x2a\x01\x00\x00\x26" + b"?" * 42)
            s.settimeout(5)
            answer = s.recv(4096)
            # Closed, or a TLS alert record (content type 21) first.
            self.assertIn(answer[:1], (b"", b"\x15"), answer)
        untrusting = ssl.create_default_context()
        with self.assertRaises(ssl.SSLError):
            http_call(self.port, "GET", "/healthz", tls=untrusting)
        self.assertEqual(http_call(self.port, "GET", "/healthz",
                                   tls=self.tls)[0], 200)


class TlsConfigTest(ClusterTestCase):
    def run_engine(self, *args):
        engine = Engine(self.url, *args).start(expect_port=False)
        self.engines.append(engine)
        return engine.wait_exit(15), engine.log()

    def test_a_certificate_without_a_key_is_refused(self):
        code, log = self.run_engine("--http.tls-cert=cert.pem")
        self.assertNotEqual(code, 0)
        self.assertIn("http.tls-cert and http.tls-key go together", log)

    def test_an_unreadable_certificate_is_named(self):
        code, log = self.run_engine("--http.tls-cert=/nonexistent/cert.pem",
                                    "--http.tls-key=/nonexistent/key.pem")
        self.assertEqual(code, 1)
        self.assertIn("/nonexistent/cert.pem", log)


if __name__ == "__main__":
    unittest.main()
