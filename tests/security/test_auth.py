"""Who may connect and who may operate: every bad token kind and a foreign
Origin on all three transports, one user's token used for another's
session, the admin surface probed on the public port, a flood of wrong
admin tokens, valid tokens while the engine starts, and a rotated token
secret ending the sessions its old tokens opened."""

import asyncio
import http.client
import json
import os
import socket
import tempfile
import time
import unittest

import websockets

from common import (ADMIN, ORIGIN, BatteryCase, Engine, RawWebSocket,
                    figure, http_call, mint, run, wait_until)


def sse_status(port, token, origin=None):
    """(status, parsed JSON error or None) of opening an SSE stream."""
    headers = {"Origin": origin} if origin else {}
    path = "/v1/stream" + (f"?token={token}" if token is not None else "")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        res = conn.getresponse()
        if res.status == 200:
            return 200, None
        return res.status, json.loads(res.read() or b"null")
    finally:
        conn.close()


class AuthTest(BatteryCase):
    """One class, so that the whole file shares one PostgreSQL cluster."""

    def shop(self):
        """An engine that knows the shop app (and an empty mall app)."""
        self.engine = self.start_engine()
        self.seed()
        self.sql("INSERT INTO herald.apps (name, allowed_origins)"
                 " VALUES ('mall', '{*}')")
        self.reload_apps()
        self.assertTrue(self.wait_known(self.engine))

    def bad_tokens(self):
        """(kind, token or None, expected error code)."""
        s = self.secret
        return [
            ("expired", mint(s, "shop", "ada", expires_in=-120),
             "token_expired"),
            ("wrong signature", mint("not-the-secret", "shop", "ada"),
             "invalid_token"),
            ("wrong audience", mint(s, "mall", "ada"), "invalid_token"),
            ("unknown audience", mint(s, "nowhere", "ada"), "invalid_token"),
            ("alg none", mint(s, "shop", "ada", alg="none"), "invalid_token"),
            ("alg HS512 label", mint(s, "shop", "ada", alg="HS512"),
             "invalid_token"),
            ("not yet valid", mint(s, "shop", "ada",
                                   nbf=int(time.time()) + 600),
             "invalid_token"),
            ("malformed", "not-a-jwt", "invalid_token"),
            ("malformed parts", "a.b.c", "invalid_token"),
            ("missing", None, "missing_token"),
        ]

    def attempts(self, token, origin=None):
        """What each transport answers: {transport: (status, code)}."""
        port = self.engine.port
        q = f"&token={token}" if token is not None else ""
        headers = {"Origin": origin} if origin else {}
        out = {}
        ws = RawWebSocket(port, token if token is not None else "",
                          origin=origin)
        try:
            body = json.loads(ws.buffer.split(b"\r\n\r\n")[0] or b"null") \
                if ws.status != 101 else None
        except ValueError:
            body = None
        out["websocket"] = (ws.status,
                            body and body.get("error", {}).get("code"))
        ws.close()
        status, body = sse_status(port, token, origin)
        out["sse"] = (status, body and body["error"]["code"])
        status, _, body = http_call(port, "GET", f"/v1/poll?after=0&wait=0{q}",
                                    headers=headers)
        out["poll"] = (status, body and body["error"]["code"])
        status, _, body = http_call(
            port, "POST", f"/v1/ack?x=1{q}", headers=headers,
            body=json.dumps({"session": 1, "seq": 1}))
        out["ack"] = (status, body and body["error"]["code"])
        return out

    def test_every_bad_token_kind_is_refused_on_every_transport(self):
        self.shop()
        started = time.monotonic()
        checked = 0
        for kind, token, code in self.bad_tokens():
            with self.subTest(kind=kind):
                got = self.attempts(token)
                for transport, (status, err) in got.items():
                    self.assertEqual(status, 401, f"{kind} {transport}")
                    if transport != "websocket":
                        self.assertEqual(err, code, f"{kind} {transport}")
                    checked += 1
        figure("bad tokens", kinds=len(self.bad_tokens()), attempts=checked,
               refused_401=checked,
               seconds=round(time.monotonic() - started, 2))

    def test_a_foreign_origin_is_refused_on_every_transport(self):
        self.shop()
        got = self.attempts(self.token(), origin="https://evil.example")
        for transport, (status, code) in got.items():
            self.assertEqual(status, 403, transport)
            if transport != "websocket":
                self.assertEqual(code, "origin_not_allowed", transport)
        # The allowed one passes (the WebSocket upgrades).
        ws = RawWebSocket(self.engine.port, self.token(), origin=ORIGIN)
        self.assertEqual(ws.status, 101)
        ws.close()
        figure("foreign origin", transports=len(got), refused_403=len(got))

    def test_bad_tokens_in_hello_and_auth_frames_close_with_4001(self):
        self.shop()
        for kind, token, _ in self.bad_tokens():
            if token is None:
                continue
            with self.subTest(kind=kind, frame="hello"):
                ws = RawWebSocket(self.engine.port, self.token())
                self.assertEqual(ws.status, 101)
                ws.send_frame(json.dumps({"type": "hello", "last_seq": 0,
                                          "token": token}))
                self.assertEqual(ws.close_code(), 4001, kind)
                ws.close()
        ws = RawWebSocket(self.engine.port, self.token())
        ws.hello()
        self.assertEqual(json.loads(ws.read_frame()[1])["type"], "welcome")
        ws.send_frame(json.dumps({"type": "auth",
                                  "token": mint("x", "shop", "ada")}))
        self.assertEqual(ws.close_code(), 4001)
        ws.close()

    def test_one_users_token_never_acts_for_another(self):
        self.shop()
        # A WebSocket opened as ada cannot say hello or auth as bob.
        for frame in ({"type": "hello", "last_seq": 0,
                       "token": self.token("bob")},):
            ws = RawWebSocket(self.engine.port, self.token("ada"))
            ws.send_frame(json.dumps(frame))
            self.assertEqual(ws.close_code(), 4001)
            ws.close()
        ws = RawWebSocket(self.engine.port, self.token("ada"))
        ws.hello()
        ws.read_frame()
        ws.send_frame(json.dumps({"type": "auth", "token": self.token("bob")}))
        self.assertEqual(ws.close_code(), 4001)
        ws.close()
        # bob cannot ack ada's SSE stream: it does not exist for him.
        sock = socket.create_connection(("127.0.0.1", self.engine.port))
        sock.sendall(f"GET /v1/stream?token={self.token('ada')} HTTP/1.1\r\n"
                     "Host: x\r\n\r\n".encode())
        data = b""
        while b"event: welcome" not in data or not data.endswith(b"\n\n"):
            data += sock.recv(4096)
        line = [x for x in data.decode().split("\n") if x.startswith("data:")]
        session = json.loads(line[0][5:])["session"]
        status, _, body = http_call(
            self.engine.port, "POST", f"/v1/ack?token={self.token('bob')}",
            body=json.dumps({"session": session, "seq": 1}))
        self.assertEqual((status, body["error"]["code"]),
                         (404, "unknown_session"))
        # Ada's own ack of something her stream was not sent is refused
        # too, and changes nothing (an ack bounded by what was sent).
        status, _, body = http_call(
            self.engine.port, "POST", f"/v1/ack?token={self.token('ada')}",
            body=json.dumps({"session": session, "seq": 1}))
        self.assertEqual((status, body["error"]["code"]), (400, "unknown_seq"))
        sock.close()
        # A token names its own user: the poll of one is never another's.
        self.publish("bob", 1)
        status, _, body = http_call(
            self.engine.port, "GET",
            f"/v1/poll?after=0&wait=1&token={self.token('ada')}")
        self.assertEqual((status, body["messages"]), (200, []))

    PROBES = [
        ("GET", "/v1/admin/apps"), ("POST", "/v1/admin/apps"),
        ("GET", "/v1/admin/templates"), ("GET", "/v1/admin/messages"),
        ("GET", "/v1/admin/channels"),
        ("POST", "/v1/admin/apps/shop/token-secret"),
        ("GET", "/v1/admin/debug/tree"),
        ("GET", "/v1/admin/debug/users/shop/ada"),
        ("POST", "/v1/admin/debug/users/shop/ada/crash"),
        ("GET", "/v1/admin/debug/messages/1/trace"),
        ("GET", "/metrics"), ("GET", "/console/"),
        ("GET", "/console/api.js"),
    ]

    def test_the_admin_surface_does_not_exist_on_the_public_port(self):
        engine = self.start_engine(
            "--web.root=" + os.path.join(os.path.dirname(__file__), "..",
                                         "..", "web"))
        self.seed()
        for method, path in self.PROBES:
            for auth in (None, ADMIN):
                headers = {"Authorization": f"Bearer {auth}"} if auth else {}
                status, _, body = http_call(engine.port, method, path,
                                            body="{}", headers=headers)
                self.assertEqual((status, body["error"]["code"]),
                                 (404, "not_found"), f"{method} {path}")
        # The admin listener serves them all, with the token.
        for path in ("/v1/admin/apps", "/v1/admin/debug/tree", "/metrics",
                     "/console/"):
            status, _, _ = http_call(
                engine.admin_port, "GET", path,
                headers={"Authorization": f"Bearer {ADMIN}"})
            self.assertEqual(status, 200, path)
        figure("admin surface on the public port", probes=len(self.PROBES) * 2,
               answered_404=len(self.PROBES) * 2)

    def test_wrong_admin_tokens_are_throttled_and_logged_once(self):
        engine = self.start_engine()
        total = 1000
        statuses = {}
        retry_after = set()
        conn = http.client.HTTPConnection("127.0.0.1", engine.admin_port,
                                          timeout=10)
        started = time.monotonic()
        for i in range(total):
            conn.request("GET", "/v1/admin/apps",
                         headers={"Authorization": f"Bearer guess-{i:012d}"})
            res = conn.getresponse()
            res.read()
            statuses[res.status] = statuses.get(res.status, 0) + 1
            if res.status == 429:
                retry_after.add(res.getheader("Retry-After"))
        seconds = time.monotonic() - started
        conn.close()
        self.assertEqual(set(statuses), {401, 429}, statuses)
        self.assertLessEqual(statuses[401], 10 + int(seconds) + 1, statuses)
        self.assertTrue(retry_after and all(r and int(r) >= 1
                                            for r in retry_after))
        # Throttled means throttled: the right token waits too, so that
        # guessing cannot go on at full speed.
        status, headers, body = http_call(
            engine.admin_port, "GET", "/v1/admin/apps",
            headers={"Authorization": f"Bearer {ADMIN}"})
        self.assertEqual((status, body["error"]["code"]),
                         (429, "admin_throttled"))
        wait = int(headers["Retry-After"])
        self.assertTrue(wait_until(lambda: http_call(
            engine.admin_port, "GET", "/v1/admin/apps",
            headers={"Authorization": f"Bearer {ADMIN}"})[0] == 200,
            wait + 5))
        logged = [line for line in engine.stderr_lines
                  if "wrong admin token" in line]
        self.assertEqual(len(logged), 1, logged)
        figure("1,000 wrong admin tokens", requests=total,
               answered_401=statuses.get(401, 0),
               answered_429=statuses.get(429, 0),
               log_lines=len(logged), seconds=round(seconds, 2),
               retry_after_s=max(int(r) for r in retry_after))

    def test_the_admin_token_comes_from_a_file_and_must_be_long(self):
        short = Engine(self.url, "--admin.token=short-token", "--http.port=0")
        short.start(expect_port=False)
        self.assertEqual(short.wait_exit(), 2)
        self.assertIn("at least 16 characters", "\n".join(short.stderr_lines))
        with tempfile.NamedTemporaryFile("w", suffix=".token") as f:
            f.write(ADMIN + "\n")
            f.flush()
            both = Engine(self.url, f"--admin.token={ADMIN}",
                          f"--admin.token-file={f.name}")
            both.start(expect_port=False)
            self.assertEqual(both.wait_exit(), 2)
            engine = Engine(self.url, f"--admin.token-file={f.name}",
                            "--admin.port=0").start()
            self.engines.append(engine)
            self.assertTrue(engine.wait_ready(), engine.log())
            self.assertTrue(wait_until(lambda: engine.admin_port, 5))
            status, _, _ = http_call(
                engine.admin_port, "GET", "/v1/admin/apps",
                headers={"Authorization": f"Bearer {ADMIN}"})
            self.assertEqual(status, 200)
            # The token is nowhere on the command line.
            with open(f"/proc/{engine.proc.pid}/cmdline", "rb") as cmd:
                self.assertNotIn(ADMIN.encode(), cmd.read())

    def test_a_valid_token_while_the_engine_starts_gets_503_not_401(self):
        # A database with the app, then an engine that starts while the
        # database is down: it listens, but cannot know the app yet.
        first = self.start_engine()
        self.seed()
        first.stop()
        token = self.token()
        self.cluster.stop()
        engine = self.start_engine(wait=False)
        seen = {}
        ws = RawWebSocket(engine.port, token)
        seen["websocket"] = (ws.status, None, None)
        ws.close()
        conn = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=10)
        conn.request("GET", f"/v1/stream?token={token}")
        res = conn.getresponse()
        seen["sse"] = (res.status, res.getheader("Retry-After"),
                       json.loads(res.read())["error"]["code"])
        conn.close()
        for name, path in (("poll", f"/v1/poll?after=0&wait=0&token={token}"),
                           ("history", f"/v1/me/messages?token={token}")):
            status, headers, body = http_call(engine.port, "GET", path)
            seen[name] = (status, headers.get("Retry-After"),
                          body["error"]["code"])
        for name, (status, retry, code) in seen.items():
            self.assertEqual(status, 503, f"{name}: {seen}")
            if name != "websocket":
                self.assertEqual((retry, code), ("1", "starting"), name)
        self.assertEqual(engine.get("/readyz")[0], 503)
        # Once the database is back and the apps are read: served.
        started = time.monotonic()
        self.cluster.start()
        self.assertTrue(self.wait_known(engine, "ada"), engine.log())
        figure("valid token during startup", transports=len(seen),
               answered_503=len(seen), answered_401=0,
               served_after_db_back_s=round(time.monotonic() - started, 2))

    def test_rotating_the_token_secret_closes_that_apps_sessions(self):
        engine = self.start_engine()
        self.seed()
        self.sql("INSERT INTO herald.apps (name, allowed_origins)"
                 " VALUES ('mall', '{*}')")
        self.sql("INSERT INTO herald.users (app_id, external_id)"
                 " SELECT id, 'max' FROM herald.apps WHERE name = 'mall'")
        mall_secret = self.sql(
            "SELECT token_secret FROM herald.apps WHERE name = 'mall'")
        self.reload_apps()
        self.assertTrue(self.wait_known(engine))
        self.assertTrue(wait_until(lambda: http_call(
            engine.port, "GET", "/v1/poll?after=0&wait=0&token="
            + mint(mall_secret, "mall", "max"))[0] == 200, 15))

        async def scenario(rotate):
            url = f"ws://127.0.0.1:{engine.port}/v1/ws?token="
            shop = await websockets.connect(url + self.token(),
                                            subprotocols=["herald.v1"])
            mall = await websockets.connect(
                url + mint(mall_secret, "mall", "max"),
                subprotocols=["herald.v1"])
            for ws in (shop, mall):
                await ws.send(json.dumps({"type": "hello", "last_seq": 0}))
                self.assertEqual(json.loads(await ws.recv())["type"],
                                 "welcome")
            sse = socket.create_connection(("127.0.0.1", engine.port))
            sse.sendall(f"GET /v1/stream?token={self.token('bob')} HTTP/1.1"
                        "\r\nHost: x\r\n\r\n".encode())
            data = b""
            while b"event: welcome" not in data:
                data += sse.recv(4096)
            started = time.monotonic()
            await asyncio.get_running_loop().run_in_executor(None, rotate)
            try:
                while True:
                    await asyncio.wait_for(shop.recv(), 15)
            except websockets.ConnectionClosed as closed:
                code = closed.code
            ws_seconds = time.monotonic() - started
            sse.settimeout(15)
            while True:
                chunk = sse.recv(4096)
                if not chunk:
                    break
                data += chunk
            sse_seconds = time.monotonic() - started
            self.assertIn(b"token_revoked", data)
            # The other app's session lives on.
            self.assertTrue(mall.open)
            await mall.close()
            return code, ws_seconds, sse_seconds

        def rotate_over_api():
            status, _, _ = http_call(
                engine.admin_port, "POST",
                "/v1/admin/apps/shop/token-secret",
                headers={"Authorization": f"Bearer {ADMIN}"})
            self.assertEqual(status, 200)
        code, ws_s, sse_s = run(scenario(rotate_over_api))
        self.assertEqual(code, 4001)
        figure("token secret rotated (admin API)", websocket_close=code,
               websocket_closed_s=round(ws_s, 2), sse_closed_s=round(sse_s, 2))

        # Rotated in the database by hand: the periodic refresh finds it.
        self.secret = self.sql(
            "SELECT token_secret FROM herald.apps WHERE name = 'shop'")
        self.assertTrue(self.wait_known(engine))

        def rotate_in_sql():
            self.sql("UPDATE herald.apps SET token_secret = md5(random()::text)"
                     " WHERE name = 'shop'")
        code, ws_s, sse_s = run(scenario(rotate_in_sql))
        self.assertEqual(code, 4001)
        figure("token secret rotated (SQL, periodic refresh)",
               websocket_close=code, websocket_closed_s=round(ws_s, 2),
               sse_closed_s=round(sse_s, 2))


if __name__ == "__main__":
    unittest.main()
