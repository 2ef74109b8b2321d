"""POST /v1/import against a running heraldd: good lines land, bad lines
are reported by number, a 100,000-user import completes, and the body
limits: the import's own, and http.body-limit for every other route."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from clients import http_call  # noqa: E402
from harness import ClusterTestCase, Engine  # noqa: E402

ADMIN = "admin-test-token"
NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson(lines):
    return "".join(json.dumps(line) + "\n" for line in lines)


class ImportTestCase(ClusterTestCase):
    engine_args = ()

    def setUp(self):
        super().setUp()
        self.engine = Engine(self.url, f"--admin.token={ADMIN}",
                             *self.engine_args).start()
        self.engines.append(self.engine)
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        status, _, app = http_call(
            self.engine.admin_port, "POST", "/v1/admin/apps",
            body=json.dumps({"name": "shop"}),
            headers={"Authorization": f"Bearer {ADMIN}",
                     "Content-Type": "application/json"})
        self.assertEqual(status, 201, app)
        self.key = app["api_key"]

    def post(self, body, headers=NDJSON, path="/v1/import", method="POST"):
        """(status, parsed body); the import may take a while."""
        status, _, parsed = http_call(
            self.engine.port, method, path,
            body=body.encode() if isinstance(body, str) else body,
            headers={"Authorization": f"Bearer {self.key}", **headers},
            timeout=300)
        return status, parsed

    def count(self, table):
        return int(self.sql(f"SELECT count(*) FROM herald.{table}"))


class ImportTest(ImportTestCase):
    def test_good_lines_land_and_bad_lines_are_reported(self):
        body = ndjson([
            {"kind": "user", "id": "ada", "merchant": "acme",
             "time_zone": "Europe/Berlin"},
            {"kind": "merchant", "id": "acme", "name": "Acme"},
            {"kind": "store", "id": "berlin", "merchant": "acme"},
            {"kind": "member", "store": "berlin", "user": "ada"},
        ]) + "{not json\n\n" + ndjson([
            {"kind": "user", "id": "bob", "time_zone": "Nowhere/Land"},
            {"kind": "subscription", "topic": "deals", "user": "ada"},
            {"kind": "topic", "id": "deals"},
            {"kind": "member", "store": "paris", "user": "ada"},
        ])
        status, result = self.post(body)
        self.assertEqual(status, 200, result)
        self.assertEqual(result["lines"], 9)
        self.assertEqual(result["error_count"], 3)
        self.assertEqual(
            [(e["line"], e["code"]) for e in result["errors"]],
            [(5, "bad_json"), (7, "bad_field"), (10, "unknown_store")])
        self.assertIn("Nowhere/Land", result["errors"][1]["message"])
        self.assertEqual(result["imported"], {
            "merchant": 1, "store": 1, "topic": 1, "user": 1, "member": 1,
            "subscription": 1})
        self.assertEqual(self.sql(
            "SELECT u.time_zone || ' ' || m.external_id FROM herald.users u"
            " JOIN herald.merchants m ON m.id = u.merchant_id"),
            "Europe/Berlin acme")
        self.assertEqual((self.count("store_members"),
                          self.count("subscriptions")), (1, 1))

        # The same body again changes nothing and says the same.
        log = self.count("stream_log")
        status, again = self.post(body)
        self.assertEqual((status, again), (200, result))
        self.assertEqual(self.count("stream_log"), log)

    def test_a_body_that_is_not_ndjson_is_refused(self):
        for body, headers, status, code in [
            ("", NDJSON, 400, "bad_ndjson"),
            ("\n\n", NDJSON, 400, "bad_ndjson"),
            ('[{"kind": "topic", "id": "t"}]', NDJSON, 400, "bad_ndjson"),
            ("garbage\nmore garbage", NDJSON, 400, "bad_ndjson"),
            ('{"kind": "topic", "id": "t"}\n',
             {"Content-Type": "application/json"}, 415,
             "unsupported_media_type"),
        ]:
            got, parsed = self.post(body, headers)
            self.assertEqual((got, parsed["error"]["code"]), (status, code),
                             f"{body!r}: {parsed}")
        self.assertEqual(self.count("topics"), 0)
        got, parsed = self.post("{}", NDJSON | {"Authorization": "Bearer x"})
        self.assertEqual((got, parsed["error"]["code"]),
                         (401, "invalid_api_key"))

    def test_other_routes_keep_the_default_body_limit(self):
        # Over http.body-limit (1 MiB) elsewhere, well under the import's.
        big = json.dumps({"merchant": "x" * (2 << 20)})
        status, parsed = self.post(big, {"Content-Type": "application/json"},
                                   path="/v1/users/ada", method="PUT")
        self.assertEqual((status, parsed["error"]["code"]),
                         (413, "payload_too_large"))
        lines = ndjson({"kind": "topic", "id": f"t{i:07}"}
                       for i in range(60000))
        self.assertGreater(len(lines), 2 << 20)
        status, result = self.post(lines)
        self.assertEqual(status, 200, result)
        self.assertEqual(result["imported"]["topic"], 60000)

    def test_a_big_import_with_memberships_and_subscriptions(self):
        # 20,000 users here (a 3 MB body); docs/performance.md times
        # 100,000.
        users = 20000
        lines = [{"kind": "merchant", "id": f"m{m}"} for m in range(100)]
        lines += [{"kind": "store", "id": f"s{s}", "merchant": f"m{s % 100}"}
                  for s in range(1000)]
        lines += [{"kind": "topic", "id": f"t{t}"} for t in range(10)]
        for u in range(users):
            lines += [
                {"kind": "user", "id": f"u{u}", "merchant": f"m{u % 100}",
                 "time_zone": "Europe/Paris"},
                {"kind": "member", "store": f"s{u % 1000}", "user": f"u{u}"},
                {"kind": "subscription", "topic": f"t{u % 10}",
                 "user": f"u{u}"}]
        status, result = self.post(ndjson(lines))
        self.assertEqual(status, 200, result)
        self.assertEqual(result["error_count"], 0, result["errors"])
        self.assertEqual(result["imported"], {
            "merchant": 100, "store": 1000, "topic": 10, "user": users,
            "member": users, "subscription": users})
        self.assertEqual(
            [self.count(t) for t in ("users", "store_members",
                                     "subscriptions")],
            [users, users, users])


class ImportLimitTest(ImportTestCase):
    engine_args = ("--http.import-body-limit=4096",)

    def test_an_import_over_its_limit_is_refused(self):
        lines = ndjson({"kind": "topic", "id": f"t{i:05}"} for i in range(200))
        self.assertGreater(len(lines), 4096)
        status, parsed = self.post(lines)
        self.assertEqual((status, parsed["error"]["code"]),
                         (413, "payload_too_large"))
        self.assertEqual(self.count("topics"), 0)
        status, result = self.post(ndjson([{"kind": "topic", "id": "t"}]))
        self.assertEqual((status, result["imported"]["topic"]), (200, 1))


if __name__ == "__main__":
    unittest.main()
