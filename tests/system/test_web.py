"""heraldd as a web server for web/: static files with content types and
revalidation, no listing, nothing outside the root; and the development
token route of the demo page."""

import os
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from clients import http_call  # noqa: E402
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402


def raw_get(port, target):
    """The status line of GET target, sent byte for byte as given."""
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n"
                  "Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


class WebTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.root = tempfile.mkdtemp(prefix="herald-web-")
        self.addCleanup(shutil.rmtree, self.root, True)
        os.makedirs(os.path.join(self.root, "demo"))
        os.makedirs(os.path.join(self.root, ".git"))
        files = {"demo/index.html": "<!doctype html><p>inbox</p>",
                 "herald.js": "export const x = 1;",
                 "herald.d.ts": "export declare const x: number;",
                 "demo/app.css": "p { color: red }",
                 ".git/config": "secret",
                 "logo.png": "\x89PNG"}
        for name, text in files.items():
            with open(os.path.join(self.root, name), "w") as f:
                f.write(text)
        self.sql_seed = ("INSERT INTO herald.apps (name, allowed_origins) "
                         "VALUES ('demo', '{*}')")
        self.engine = Engine(self.url, f"--web.root={self.root}",
                             "--web.demo-app=demo").start()
        self.engines.append(self.engine)
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.port = self.engine.port

    def get(self, path, headers=None, method="GET"):
        return http_call(self.port, method, path, headers=headers)

    def test_files_have_their_content_types_and_revalidate(self):
        for path, kind in (("/demo/", "text/html"),
                           ("/demo/index.html", "text/html"),
                           ("/herald.js", "text/javascript"),
                           ("/herald.d.ts", "text/plain"),
                           ("/demo/app.css", "text/css"),
                           ("/logo.png", "image/png")):
            status, headers, _ = self.get(path)
            self.assertEqual(status, 200, path)
            self.assertTrue(headers["Content-Type"].startswith(kind), path)
            self.assertEqual(headers["Cache-Control"], "no-cache")
        status, headers, _ = self.get("/herald.js")
        etag = headers["ETag"]
        status, _, _ = self.get("/herald.js", {"If-None-Match": etag})
        self.assertEqual(status, 304)
        status, headers, _ = self.get("/herald.js", method="HEAD")
        self.assertEqual((status, headers["Content-Length"]), (200, "19"))

    def test_no_listing_no_escape_and_redirects(self):
        status, headers, _ = self.get("/")
        self.assertEqual((status, headers["Location"]), (302, "/demo/"))
        status, headers, _ = self.get("/demo")
        self.assertEqual((status, headers["Location"]), (301, "/demo/"))
        for path in ("/nothing.js", "/.git/config", "/.git/", "/demo/.x"):
            status, _, body = self.get(path)
            self.assertEqual(status, 404, path)
            self.assertEqual(body["error"]["code"], "not_found")
        # A folder without an index is not listed.
        os.remove(os.path.join(self.root, "demo", "index.html"))
        self.assertEqual(self.get("/demo/")[0], 404)
        for target in ("/../etc/passwd", "/demo/../../etc/passwd",
                       "/%2e%2e/etc/passwd", "/demo/%2e%2e/%2e%2e/etc/hosts"):
            self.assertNotIn(" 200 ", raw_get(self.port, target), target)
        self.assertEqual(self.get("/v1/nothing")[0], 404)
        status, _, _ = self.get("/herald.js", method="DELETE")
        self.assertEqual(status, 404)

    def test_demo_tokens_are_for_the_demo_app(self):
        status, _, body = http_call(self.port, "POST", "/v1/demo/token",
                                    body='{"user": "ada"}')
        self.assertEqual((status, body["error"]["code"]),
                         (503, "unavailable"))
        self.sql(self.sql_seed)
        got = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(
            http_call(self.port, "POST", "/v1/demo/token",
                      body='{"user": "ada"}')), 10)
        self.assertTrue(got)
        token = got[2]["token"]
        status, _, history = http_call(
            self.port, "GET", "/v1/me/messages",
            headers={"Authorization": f"Bearer {token}"})
        self.assertEqual((status, history["messages"]), (200, []))
        status, _, body = http_call(self.port, "POST", "/v1/demo/token",
                                    body='{"user": 5}')
        self.assertEqual((status, body["error"]["code"]), (400, "bad_field"))


if __name__ == "__main__":
    unittest.main()
