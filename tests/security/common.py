"""What the attack battery shares: the system tests' harness (a private
PostgreSQL cluster, heraldd on free ports), raw-socket clients that
misbehave on purpose, the engine's memory, and the figures each attack
prints (and appends to $HERALD_SECURITY_FIGURES as JSON lines)."""

import asyncio
import base64
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "system"))

from clients import SEED, http_call, mint  # noqa: E402,F401
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402,F401

ADMIN = "security-battery-admin-token"
ORIGIN = "https://shop.example"
FULL = os.environ.get("HERALD_SECURITY_FULL") == "1"

# Short timeouts, so that each attack ends in seconds; the defaults are
# documented in README.md and docs/protocol.md.
FAST = ("--http.header-timeout=2s", "--delivery.hello-timeout=2s",
        "--delivery.write-timeout=2s", "--delivery.ping-interval=1s",
        "--delivery.ping-timeout=1s")


def figure(attack, **values):
    """Prints one attack's figures and keeps them for the README table."""
    text = ", ".join(f"{k}={v}" for k, v in values.items())
    print(f"\nFIGURE {attack}: {text}", flush=True)
    path = os.environ.get("HERALD_SECURITY_FIGURES")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"attack": attack, **values}) + "\n")


def rss_mb(pid):
    """Resident memory of a process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(coro, timeout=120):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class BatteryCase(ClusterTestCase):
    """A fresh database with the shop app, users ada/bob/eve, and one
    engine started with the given arguments."""

    engine_args = ()

    def start_engine(self, *extra, wait=True):
        engine = Engine(self.url, f"--admin.token={ADMIN}", *FAST,
                        *self.engine_args, *extra).start()
        self.engines.append(engine)
        if wait:
            self.assertTrue(engine.wait_ready(), engine.log())
        return engine

    def seed(self, engine=None):
        self.sql(SEED)
        self.sql("INSERT INTO herald.users (app_id, external_id)"
                 " VALUES (1, 'eve')")
        self.secret = self.sql("SELECT token_secret FROM herald.apps")
        self.reload_apps(engine)

    def reload_apps(self, engine=None):
        """Makes the engine read the apps now instead of at its next
        periodic refresh: any admin call that changes an app does."""
        engine = engine or (self.engines[-1] if self.engines else None)
        if engine and engine.admin_port and engine.proc.poll() is None:
            http_call(engine.admin_port, "PATCH", "/v1/admin/apps/shop",
                      body=json.dumps({"disabled": False}),
                      headers={"Authorization": f"Bearer {ADMIN}",
                               "Content-Type": "application/json"})

    def token(self, user="ada", **kwargs):
        return mint(self.secret, "shop", user, **kwargs)

    def publish(self, user, n=1, pad=0):
        """Publishes n messages to user, each with pad bytes of data."""
        return self.sql(
            "SELECT count(herald.publish('shop', 'note', 'user:" + user +
            "', jsonb_build_object('n', i, 'pad', repeat('x', " + str(pad) +
            ")))) FROM generate_series(1, " + str(n) + ") i")

    def wait_known(self, engine, user="ada"):
        """Until the engine takes this user's token (the apps are loaded
        every few seconds)."""
        token = self.token(user)
        return wait_until(lambda: http_call(
            engine.port, "GET", f"/v1/poll?after=0&wait=0&token={token}",
            timeout=10)[0] == 200, 15)


class RawWebSocket:
    """A WebSocket client on a bare socket, for clients that break the
    rules: it never reads unless told, never answers pings, sends what it
    is given."""

    def __init__(self, port, token, origin=None, protocol="herald.v1",
                 timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET /v1/ws?token={token} HTTP/1.1\r\nHost: x\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Protocol: {protocol}\r\n")
        if origin:
            head += f"Origin: {origin}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ")[1]) if head else 0

    def send_frame(self, payload, opcode=1):
        """One masked frame (text by default)."""
        if isinstance(payload, str):
            payload = payload.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) \
            if n < 1 << 16 else _mask_big(payload, mask)
        self.sock.sendall(header + mask + body)

    def hello(self, last_seq=0):
        self.send_frame(json.dumps({"type": "hello", "last_seq": last_seq}))

    def read_frame(self, pings=False):
        """(opcode, payload) of the next message, its fragments joined, or
        of a close frame (and of pings and pongs too with pings=True);
        raises EOFError at the end. Pings are never answered."""
        opcode, fin, payload = self._read_raw()
        while opcode in (9, 10) and not pings:
            opcode, fin, payload = self._read_raw()
        while not fin and opcode < 8:
            op, fin, more = self._read_raw()
            if op >= 8:  # a control frame between fragments: skip it
                fin = False
                continue
            payload += more
        return opcode, payload

    def _read_raw(self):
        def need(n):
            while len(self.buffer) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed")
                self.buffer += chunk
            out, self.buffer = self.buffer[:n], self.buffer[n:]
            return out
        b0, b1 = need(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(need(2), "big")
        elif n == 127:
            n = int.from_bytes(need(8), "big")
        return b0 & 0x0F, bool(b0 & 0x80), need(n)

    def close_code(self):
        """Reads until the server's close frame: its code, or None when the
        connection ended without one (what a browser reports as 1006)."""
        try:
            while True:
                opcode, payload = self.read_frame()
                if opcode == 8:
                    return int.from_bytes(payload[:2], "big") \
                        if len(payload) >= 2 else 1005
        except (EOFError, ConnectionResetError, socket.timeout, OSError):
            return None

    def wait_closed(self, timeout):
        """Reads (and drops) everything until the server ends the
        connection; True when it did within timeout."""
        self.sock.settimeout(0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not self.sock.recv(65536):
                    return True
            except socket.timeout:
                continue
            except OSError:
                return True
        return False

    def close(self):
        self.sock.close()


def _mask_big(payload, mask):
    # XOR of a big payload at C speed: int arithmetic on whole words.
    n = len(payload)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")) \
        .to_bytes(n, "big")


class SseReaderRaw:
    """An SSE stream on a bare socket (reads only when asked)."""

    def __init__(self, port, token, query="", rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(15)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(f"GET /v1/stream?token={token}{query} HTTP/1.1\r\n"
                          "Host: x\r\n\r\n".encode())
        self.buffer = b""

    def _until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.buffer += chunk
        part, self.buffer = self.buffer.split(marker, 1)
        return part

    def head(self):
        return self._until(b"\r\n\r\n").decode()

    def next_block(self):
        """The next raw event block, comments included."""
        if not hasattr(self, "_head"):
            self._head = self.head()
        return self._until(b"\n\n").decode()

    def next_event(self):
        """(event, id, data) of the next event with data (not welcome)."""
        while True:
            block = self.next_block()
            fields = {}
            for line in block.split("\n"):
                if line.startswith(":") or not line:
                    continue
                key, _, value = line.partition(":")
                fields[key] = value[1:] if value.startswith(" ") else value
            if "data" in fields and fields.get("event") != "welcome":
                return (fields.get("event", "message"), fields.get("id"),
                        json.loads(fields["data"]))

    def close(self):
        self.sock.close()
