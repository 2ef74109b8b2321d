"""The HTTP API of docs/api.md against a running heraldd: the onboarding
story over HTTP only, and bad inputs that each get the documented error and
change nothing."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from clients import http_call  # noqa: E402
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402

ADMIN = "admin-test-token"

# Every table the API writes, counted and hashed: a refused request must
# leave this unchanged.
SNAPSHOT = """
SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
  SELECT 'apps:' || string_agg(a::text, ',' ORDER BY id) AS t FROM herald.apps a
  UNION ALL SELECT 'templates:' || string_agg(x::text, ',' ORDER BY id)
    FROM herald.templates x
  UNION ALL SELECT 'merchants:' || count(*) FROM herald.merchants
  UNION ALL SELECT 'stores:' || string_agg(x::text, ',' ORDER BY id)
    FROM herald.stores x
  UNION ALL SELECT 'users:' || string_agg(x::text, ',' ORDER BY id)
    FROM herald.users x
  UNION ALL SELECT 'members:' || count(*) FROM herald.store_members
  UNION ALL SELECT 'topics:' || count(*) FROM herald.topics
  UNION ALL SELECT 'subs:' || count(*) FROM herald.subscriptions
  UNION ALL SELECT 'prefs:' || string_agg(x::text, ',' ORDER BY user_id)
    FROM herald.preferences x
  UNION ALL SELECT 'outbox:' || count(*) FROM herald.outbox
  UNION ALL SELECT 'deliveries:' || count(*) FROM herald.deliveries
  UNION ALL SELECT 'log:' || count(*) FROM herald.stream_log
  UNION ALL SELECT 'cursors:' || count(*) FROM herald.user_cursors
  UNION ALL SELECT 'read:' || count(*) FROM herald.read_marks) s
"""


class ApiTestCase(ClusterTestCase):
    engine_args = ()

    def setUp(self):
        super().setUp()
        self.engine = Engine(self.url, f"--admin.token={ADMIN}",
                             *self.engine_args).start()
        self.engines.append(self.engine)
        self.assertTrue(self.engine.wait_ready(), self.engine.log())

    def call(self, method, path, body=None, auth=None, headers=None,
             raw=None):
        """(status, parsed body); body is sent as JSON, raw as it is."""
        all_headers = dict(headers or {})
        if auth:
            all_headers["Authorization"] = f"Bearer {auth}"
        data = raw
        if body is not None:
            data = json.dumps(body)
            all_headers.setdefault("Content-Type", "application/json")
        # The operator's routes exist on the admin listener only.
        port = (self.engine.admin_port if path.startswith("/v1/admin")
                else self.engine.port)
        status, _, parsed = http_call(port, method, path,
                                      body=data, headers=all_headers)
        return status, parsed

    def ok(self, expected, method, path, body=None, auth=None, **kwargs):
        status, parsed = self.call(method, path, body, auth, **kwargs)
        self.assertEqual(status, expected, f"{method} {path}: {parsed}")
        return parsed

    def create_app(self, name):
        return self.ok(201, "POST", "/v1/admin/apps",
                       {"name": name, "allowed_origins": ["*"]}, ADMIN)

    def wait_processed(self, key, message_id):
        return wait_until(lambda: (lambda m: m if m["state"] != "pending"
                                   else None)(
            self.ok(200, "GET", f"/v1/messages/{message_id}", auth=key)), 10)


class OnboardingTest(ApiTestCase):
    def test_onboarding_story_over_http_only(self):
        app = self.create_app("shop")
        key = app["api_key"]
        self.assertTrue(key.startswith("hk_"))
        self.assertNotIn(key, self.sql("SELECT api_key_hash FROM herald.apps"))

        # The app applies for a template; an operator approves it.
        applied = self.ok(201, "POST", "/v1/templates", {
            "code": "order_paid", "web_title": "Order {{order}} paid",
            "web_body": "{{amount}} received"}, key)
        self.assertEqual((applied["status"], applied["version"]),
                         ("pending", 1))
        pending = self.ok(200, "GET", "/v1/admin/templates?status=pending",
                          auth=ADMIN)["templates"]
        self.assertEqual([t["id"] for t in pending], [applied["id"]])
        approved = self.ok(200, "POST",
                           f"/v1/admin/templates/{applied['id']}/approve",
                           auth=ADMIN)
        self.assertEqual(approved["status"], "approved")
        self.assertEqual(
            self.ok(200, "GET", "/v1/templates", auth=key)["templates"][0]
            ["status"], "approved")

        # Principals: a merchant with two stores and their users.
        self.ok(200, "PUT", "/v1/merchants/acme", {"name": "Acme"}, key)
        for store in ("berlin", "paris"):
            self.ok(200, "PUT", f"/v1/stores/{store}", {"merchant": "acme"},
                    key)
        for user, store in (("ada", "berlin"), ("bob", "paris")):
            self.ok(200, "PUT", f"/v1/users/{user}",
                    {"merchant": "acme", "time_zone": "Europe/Berlin"}, key)
            self.ok(200, "PUT", f"/v1/stores/{store}/members/{user}",
                    auth=key)

        # Publishing twice with one Idempotency-Key makes one message.
        publish = {"template": "order_paid", "targets": ["merchant:acme"],
                   "data": {"order": "A-17", "amount": "42 EUR"}}
        first = self.ok(202, "POST", "/v1/messages", publish, key,
                        headers={"Idempotency-Key": "A-17"})
        again = self.ok(202, "POST", "/v1/messages", publish, key,
                        headers={"Idempotency-Key": "A-17"})
        self.assertEqual(first["id"], again["id"])
        self.assertEqual((first["duplicate"], again["duplicate"]),
                         (False, True))
        self.assertEqual(self.sql("SELECT count(*) FROM herald.outbox"), "1")
        message = self.wait_processed(key, first["id"])
        self.assertEqual(message["state"], "processed")
        self.assertEqual(sorted(d["user"] for d in message["deliveries"]),
                         ["ada", "bob"])

        # The users' history shows it, rendered.
        tokens = {u: self.ok(201, "POST", "/v1/tokens", {"user": u},
                             key)["token"] for u in ("ada", "bob")}
        for user in ("ada", "bob"):
            history = self.ok(200, "GET", "/v1/me/messages",
                              auth=tokens[user])
            self.assertEqual(history["unread"], 1)
            self.assertEqual(
                [(m["id"], m["title"], m["body"])
                 for m in history["messages"]],
                [(first["id"], "Order A-17 paid", "42 EUR received")])
        read = self.ok(200, "POST", f"/v1/me/messages/{first['id']}/read",
                       auth=tokens["ada"])
        self.assertIsNotNone(read["read_at"])
        self.assertEqual(self.ok(200, "GET", "/v1/me/messages?unread=true",
                                 auth=tokens["ada"])["messages"], [])

        # Ada opts out; the next publish is suppressed for her, with the
        # reason, and still reaches Bob.
        prefs = self.ok(200, "PUT", "/v1/me/preferences", {
            "preferences": [{"message_type": "order_paid", "channel": "*",
                             "enabled": False}]}, tokens["ada"])
        self.assertEqual(prefs["preferences"][0]["enabled"], False)
        self.assertEqual(self.ok(200, "GET", "/v1/me/preferences",
                                 auth=tokens["ada"]), prefs)
        second = self.ok(202, "POST", "/v1/messages",
                         dict(publish, data={"order": "A-18",
                                             "amount": "1 EUR"}), key)
        message = self.wait_processed(key, second["id"])
        states = {d["user"]: (d["state"], d["reason_code"])
                  for d in message["deliveries"]}
        self.assertEqual(states, {"ada": ("suppressed", "opted_out"),
                                  "bob": ("pending", None)})
        suppressed = self.ok(200, "GET", "/v1/admin/messages?state=suppressed",
                             auth=ADMIN)["messages"]
        self.assertEqual([m["id"] for m in suppressed], [second["id"]])
        self.assertEqual(len(self.ok(200, "GET", "/v1/me/messages",
                                     auth=tokens["ada"])["messages"]), 1)
        self.assertEqual(len(self.ok(200, "GET", "/v1/me/messages",
                                     auth=tokens["bob"])["messages"]), 2)

    def test_operator_manages_apps_and_keys(self):
        app = self.create_app("shop")
        listed = self.ok(200, "GET", "/v1/admin/apps", auth=ADMIN)["apps"]
        self.assertEqual([a["name"] for a in listed], ["shop"])
        self.assertNotIn("api_key", listed[0])
        self.assertNotIn("token_secret", listed[0])
        rotated = self.ok(200, "POST", "/v1/admin/apps/shop/api-key",
                          auth=ADMIN)["api_key"]
        self.assertEqual(self.call("GET", "/v1/templates",
                                   auth=app["api_key"])[1]["error"]["code"],
                         "invalid_api_key")
        self.ok(200, "GET", "/v1/templates", auth=rotated)
        # A new token secret invalidates tokens signed with the old one.
        token = self.ok(201, "POST", "/v1/tokens", {"user": "ada"},
                        rotated)["token"]
        self.ok(200, "GET", "/v1/me/messages", auth=token)
        self.ok(200, "POST", "/v1/admin/apps/shop/token-secret", auth=ADMIN)
        self.assertEqual(self.call("GET", "/v1/me/messages", auth=token)[0],
                         401)
        # The operator can publish as the app (the console's test message).
        template = self.ok(201, "POST", "/v1/templates",
                           {"code": "note", "web_body": "{{n}}"}, rotated)
        self.ok(200, "POST", f"/v1/admin/templates/{template['id']}/approve",
                auth=ADMIN)
        sent = self.ok(202, "POST", "/v1/admin/apps/shop/messages",
                       {"template": "note", "targets": ["user:ada"],
                        "data": {"n": 1}}, ADMIN)
        self.assertEqual(self.ok(200, "GET", f"/v1/messages/{sent['id']}",
                                 auth=rotated)["template"], "note")
        # A disabled app is refused.
        self.ok(200, "PATCH", "/v1/admin/apps/shop", {"disabled": True},
                ADMIN)
        status, body = self.call("GET", "/v1/templates", auth=rotated)
        self.assertEqual((status, body["error"]["code"]),
                         (403, "app_disabled"))
        self.assertEqual(self.ok(200, "GET", "/v1/admin/apps/shop",
                                 auth=ADMIN)["disabled"], True)


class BadInputTest(ApiTestCase):
    def setUp(self):
        super().setUp()
        self.key = self.create_app("shop")["api_key"]
        self.other = self.create_app("other")["api_key"]
        template = self.ok(201, "POST", "/v1/templates",
                           {"code": "note", "web_body": "{{n}}"}, self.key)
        self.ok(200, "POST", f"/v1/admin/templates/{template['id']}/approve",
                auth=ADMIN)
        self.template_id = template["id"]
        self.ok(200, "PUT", "/v1/merchants/acme", None, self.key)
        self.ok(200, "PUT", "/v1/stores/berlin", {"merchant": "acme"},
                self.key)
        self.ok(200, "PUT", "/v1/users/ada", None, self.key)
        self.message = self.ok(202, "POST", "/v1/messages", {
            "template": "note", "targets": ["user:ada"], "data": {"n": 1}},
            self.key, headers={"Idempotency-Key": "k1"})["id"]
        self.wait_processed(self.key, self.message)
        self.token = self.ok(201, "POST", "/v1/tokens", {"user": "ada"},
                             self.key)["token"]

    def refused(self, status, code, method, path, body=None, auth=None,
                message_part=None, **kwargs):
        before = self.sql(SNAPSHOT)
        got, parsed = self.call(method, path, body, auth, **kwargs)
        self.assertEqual(got, status, f"{method} {path}: {parsed}")
        self.assertEqual(parsed["error"]["code"], code, parsed)
        self.assertIsInstance(parsed["error"]["message"], str)
        if message_part:
            self.assertIn(message_part, parsed["error"]["message"])
        self.assertEqual(self.sql(SNAPSHOT), before,
                         f"{method} {path} changed something")

    def test_malformed_bodies(self):
        json_type = {"Content-Type": "application/json"}
        self.refused(400, "bad_json", "POST", "/v1/messages", auth=self.key,
                     raw="{not json", headers=json_type)
        self.refused(400, "bad_json", "POST", "/v1/messages", auth=self.key,
                     raw="[1, 2]", headers=json_type)
        self.refused(415, "unsupported_media_type", "POST", "/v1/messages",
                     auth=self.key, raw="template=note",
                     headers={"Content-Type": "text/plain"})
        self.refused(413, "payload_too_large", "POST", "/v1/messages",
                     auth=self.key, raw="x" * (2 << 20), headers=json_type)

    def test_wrong_types_and_missing_or_unknown_fields(self):
        cases = [
            ({"template": "note", "targets": "user:ada"}, "targets"),
            ({"template": 7, "targets": ["user:ada"]}, "template"),
            ({"template": "note", "targets": ["user:ada"], "data": [1]},
             "data"),
            ({"targets": ["user:ada"]}, "template"),
            ({"template": "note", "targets": ["user:ada"], "colour": "red"},
             "colour"),
        ]
        for body, field in cases:
            self.refused(400, "bad_field", "POST", "/v1/messages", body,
                         self.key, message_part=field)
        self.refused(400, "invalid_value", "POST", "/v1/messages",
                     {"template": "note", "targets": ["nobody"]}, self.key)
        self.refused(400, "bad_field", "POST", "/v1/tokens",
                     {"user": "ada", "ttl_seconds": 5}, self.key,
                     message_part="ttl_seconds")
        self.refused(400, "bad_field", "PUT", "/v1/users/ada",
                     {"time_zone": "Mars/Olympus"}, self.key,
                     message_part="time_zone")
        self.refused(400, "bad_field", "PUT", "/v1/me/preferences",
                     {"preferences": [{"channel": "pigeon"}]}, self.token,
                     message_part="preferences[0].channel")
        self.refused(400, "invalid_value", "POST", "/v1/templates",
                     {"code": "broken", "web_body": "{{#open}}"}, self.key)
        self.refused(400, "bad_field", "GET", "/v1/admin/messages?limit=0",
                     auth=ADMIN, message_part="limit")
        self.refused(400, "bad_field", "GET", "/v1/messages/abc",
                     auth=self.key, message_part="id")

    def test_unknown_ids(self):
        self.refused(404, "unknown_message", "GET", "/v1/messages/999999",
                     auth=self.key)
        self.refused(404, "unknown_merchant", "PUT", "/v1/stores/paris",
                     {"merchant": "nobody"}, self.key)
        self.refused(404, "unknown_user", "PUT",
                     "/v1/stores/berlin/members/nobody", auth=self.key)
        self.refused(404, "unknown_template", "POST",
                     "/v1/admin/templates/999999/approve", auth=ADMIN)
        self.refused(404, "unknown_app", "PATCH", "/v1/admin/apps/nobody",
                     {"disabled": True}, ADMIN)
        self.refused(404, "unknown_message", "POST",
                     "/v1/me/messages/999999/read", auth=self.token)
        self.refused(404, "not_found", "GET", "/v1/nothing-here",
                     auth=self.key)
        self.refused(405, "method_not_allowed", "DELETE", "/v1/messages",
                     auth=self.key)

    def test_wrong_credentials(self):
        self.refused(401, "missing_api_key", "GET", "/v1/templates")
        self.refused(401, "invalid_api_key", "GET", "/v1/templates",
                     auth="hk_wrong")
        self.refused(401, "invalid_admin_token", "GET", "/v1/admin/apps",
                     auth=self.key)
        self.refused(401, "invalid_token", "GET", "/v1/me/messages",
                     auth=self.key)

    def test_another_apps_resources_are_unknown(self):
        self.refused(404, "unknown_message", "GET",
                     f"/v1/messages/{self.message}", auth=self.other)
        self.refused(404, "unknown_store", "PUT",
                     "/v1/stores/berlin/members/ada", auth=self.other)
        self.refused(404, "unknown_template", "POST", "/v1/messages",
                     {"template": "note", "targets": ["user:ada"]},
                     self.other)
        # Its own user "ada" is not shop's ada: an empty history.
        other_token = self.ok(201, "POST", "/v1/tokens", {"user": "ada"},
                              self.other)["token"]
        self.assertEqual(self.ok(200, "GET", "/v1/me/messages",
                                 auth=other_token)["messages"], [])
        self.refused(404, "unknown_message", "POST",
                     f"/v1/me/messages/{self.message}/read",
                     auth=other_token)

    def test_conflicts(self):
        self.refused(409, "app_exists", "POST", "/v1/admin/apps",
                     {"name": "shop"}, ADMIN)
        self.refused(409, "not_pending", "POST",
                     f"/v1/admin/templates/{self.template_id}/reject",
                     {"reason": "too late"}, ADMIN)
        self.refused(409, "idempotency_conflict", "POST", "/v1/messages",
                     {"template": "note", "targets": ["user:ada"],
                      "data": {"n": 2}}, self.key,
                     headers={"Idempotency-Key": "k1"})


class RateLimitTest(ApiTestCase):
    engine_args = ("--api.rate-limit=1", "--api.rate-burst=3")

    def test_each_key_is_limited_on_its_own(self):
        first = self.create_app("shop")["api_key"]
        second = self.create_app("other")["api_key"]
        statuses = [http_call(self.engine.port, "GET", "/v1/templates",
                              headers={"Authorization": f"Bearer {first}"})
                    for _ in range(5)]
        self.assertEqual([s for s, _, _ in statuses][:3], [200, 200, 200])
        status, headers, body = statuses[-1]
        self.assertEqual((status, body["error"]["code"]),
                         (429, "rate_limited"))
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.ok(200, "GET", "/v1/templates", auth=second)


if __name__ == "__main__":
    unittest.main()
