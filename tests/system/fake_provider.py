"""A provider on loopback for channel tests: an SMS gateway and an FCM-like
push endpoint in one HTTP server. It records every request, answers from a
per-path script (default 200), and honours Idempotency-Key as real
providers do: a key it accepted once is answered 200 again without a
second send."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeProvider:
    def __init__(self):
        self.requests = []   # every request: path, headers, body, at
        self.sent = []       # what was really sent: one per accepted key
        self.scripts = {}    # path -> [(status, body, headers, delay)]
        self.lock = threading.Lock()
        self.accepted_keys = set()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                entry = {"path": self.path,
                         "headers": {k.lower(): v
                                     for k, v in self.headers.items()},
                         "body": json.loads(raw or b"null"),
                         "at": time.monotonic()}
                key = entry["headers"].get("idempotency-key")
                with provider.lock:
                    provider.requests.append(entry)
                    script = provider.scripts.get(self.path) or []
                    status, body, headers, delay = (
                        script.pop(0) if script else (200, {"ok": True}, {}, 0))
                    if key in provider.accepted_keys:
                        status, body, headers, delay = 200, {"ok": True}, {}, 0
                    elif 200 <= status < 300:
                        provider.accepted_keys.add(key)
                        provider.sent.append(entry)
                # The send happened; the answer may still be lost.
                if delay:
                    time.sleep(delay)
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the engine went away meanwhile

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path, *answers):
        """Queues answers for path: (status, body[, headers[, delay]])."""
        with self.lock:
            queue = self.scripts.setdefault(path, [])
            for answer in answers:
                status, body, *rest = answer
                headers = rest[0] if rest else {}
                delay = rest[1] if len(rest) > 1 else 0
                queue.append((status, body, headers, delay))

    def on(self, path, sent_only=False):
        with self.lock:
            source = self.sent if sent_only else self.requests
            return [r for r in source if r["path"] == path]
