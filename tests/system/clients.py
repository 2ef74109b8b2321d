"""Clients of the delivery transports for system tests: token minting (an
independent HS256 implementation), a herald.v1 WebSocket client on
python3-websockets, an SSE reader and long-poll requests on the stdlib."""

import base64
import hashlib
import hmac
import http.client
import json
import socket
import time

SEED = """
INSERT INTO herald.apps (name, allowed_origins)
  VALUES ('shop', '{https://shop.example}');
INSERT INTO herald.templates (app_id, code, web_title, web_body, status)
  VALUES (1, 'note', 'Note {{n}}', 'Body {{n}}', 'approved');
INSERT INTO herald.users (app_id, external_id) VALUES (1, 'ada'), (1, 'bob');
"""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(secret, app, user, expires_in=3600, alg="HS256", **extra):
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    claims = {"sub": user, "aud": app, "exp": int(time.time()) + expires_in}
    claims.update(extra)
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg == "none":
        return f"{header}.{payload}."
    signature = hmac.new(secret.encode(), signing_input,
                         hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def http_call(port, method, path, body=None, headers=None, timeout=70,
              tls=None):
    """(status, headers dict, parsed JSON or None); over TLS when tls is an
    ssl.SSLContext."""
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                           context=tls)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        raw = res.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return res.status, dict(res.getheaders()), parsed
    finally:
        conn.close()


class SseReader:
    """A raw SSE stream: yields (event, id, data) as they arrive."""

    def __init__(self, port, token, last_event_id=None, origin=None,
                 tls=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            self.sock = tls.wrap_socket(self.sock, server_hostname="127.0.0.1")
        headers = f"GET /v1/stream?token={token} HTTP/1.1\r\nHost: x\r\n"
        if last_event_id is not None:
            headers += f"Last-Event-ID: {last_event_id}\r\n"
        if origin:
            headers += f"Origin: {origin}\r\n"
        self.sock.sendall((headers + "\r\n").encode())
        self.buffer = b""
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split(b" ")[1])
        self.head = head.decode()

    def _until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.buffer += chunk
        part, self.buffer = self.buffer.split(marker, 1)
        return part

    def next_event(self):
        while True:
            block = self._until(b"\n\n").decode()
            fields = {}
            for line in block.split("\n"):
                if line.startswith(":") or not line:
                    continue
                key, _, value = line.partition(":")
                fields[key] = value[1:] if value.startswith(" ") else value
            if "data" in fields:
                return (fields.get("event", "message"), fields.get("id"),
                        json.loads(fields["data"]))

    def close(self):
        self.sock.close()
