"""SMS and mobile push through a provider on loopback: one send per channel
next to the web inbox, retries with one idempotency key, dead letters,
invalid device tokens, a crash with requests in flight, quiet hours on the
database's test clock, hourly caps and the per-provider rate."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from clients import http_call, mint  # noqa: E402
from fake_provider import FakeProvider  # noqa: E402
from harness import ClusterTestCase, Engine, wait_until  # noqa: E402

ADMIN = "channels-admin-token"
SMS_SECRET = "Bearer sms-credential-never-logged"

SEED = """
INSERT INTO herald.apps (name) VALUES ('shop');
INSERT INTO herald.templates (app_id, code, message_type, web_title,
                              web_body, sms_body, mobile_title, mobile_body,
                              status)
  VALUES (1, 'alert', 'alert', 'Alert {{n}}', 'Web body {{n}}',
          'SMS body {{n}}', 'Push {{n}}', 'Push body {{n}}', 'approved');
INSERT INTO herald.users (app_id, external_id, phone, time_zone)
  VALUES (1, 'ada', '+4915100000001', 'UTC'),
         (1, 'bob', '+4915100000002', 'UTC'),
         (1, 'cy', '+4915100000003', 'UTC');
"""


class ChannelsTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.provider = FakeProvider().start()
        self.addCleanup(self.provider.stop)
        self.engine = self.start_engine()  # applies the schema
        self.sql(SEED)
        self.secret = self.sql(
            "SELECT token_secret FROM herald.apps WHERE name = 'shop'")
        self.put_provider("sms", {"url": self.provider.url("/sms"),
                                  "auth_header": SMS_SECRET,
                                  "body_shape": {"recipient": "{{to}}",
                                                 "text": "{{body}}",
                                                 "ref": "{{delivery_id}}"},
                                  "rate_per_second": 1000})
        self.put_provider("mobile", {"url": self.provider.url("/fcm"),
                                     "auth_header": "Bearer fcm-credential",
                                     "rate_per_second": 1000})
        # Apps are reloaded every 2 s: wait until user tokens pass.
        self.assertTrue(wait_until(
            lambda: self.user_call("GET", "/v1/me/devices")[0] == 200, 10))
        status, _, _ = self.user_call(
            "POST", "/v1/me/devices", {"token": "ada-phone",
                                       "platform": "android"})
        self.assertEqual(status, 201)

    def start_engine(self):
        engine = Engine(self.url, f"--admin.token={ADMIN}",
                        "--log.level=debug",
                        "--channels.poll-interval=100ms",
                        "--channels.retry-base=200ms",
                        "--channels.lease=3s").start()
        self.engines.append(engine)
        self.assertTrue(engine.wait_ready(), engine.log())
        return engine

    def restart_engine(self):
        self.engine.stop()
        self.engine = self.start_engine()

    def admin_call(self, method, path, body=None):
        return http_call(self.engine.admin_port, method, path,
                         json.dumps(body) if body is not None else None,
                         {"Authorization": f"Bearer {ADMIN}",
                          "Content-Type": "application/json"})

    def user_call(self, method, path, body=None, user="ada"):
        token = mint(self.secret, "shop", user)
        return http_call(self.engine.port, method, path,
                         json.dumps(body) if body is not None else None,
                         {"Authorization": f"Bearer {token}",
                          "Content-Type": "application/json"})

    def put_provider(self, channel, body):
        status, _, answer = self.admin_call(
            "PUT", f"/v1/admin/apps/shop/providers/{channel}", body)
        self.assertEqual(status, 200, answer)
        return answer

    def publish(self, users=("ada",), channels=("web", "sms", "mobile"),
                priority="normal", n=1):
        targets = ",".join(f"'user:{u}'" for u in users)
        wanted = ",".join(f"'{c}'" for c in channels)
        return int(self.sql(
            f"SELECT herald.publish('shop', 'alert', ARRAY[{targets}],"
            f" '{{\"n\": {n}}}', ARRAY[{wanted}], priority => '{priority}')"))

    def delivery(self, message_id, channel, user="ada"):
        row = self.sql(
            "SELECT d.state || '|' || d.attempts || '|'"
            " || coalesce(d.reason_code, '') || '|' || coalesce(d.reason, '')"
            "  FROM herald.deliveries d JOIN herald.users u ON u.id = d.user_id"
            f" WHERE d.message_id = {message_id} AND d.channel = '{channel}'"
            f"   AND u.external_id = '{user}'")
        if not row:  # not expanded yet
            return {"state": None, "attempts": 0, "code": "", "reason": ""}
        state, attempts, code, reason = row.split("|", 3)
        return {"state": state, "attempts": int(attempts), "code": code,
                "reason": reason}

    def settled(self, user="cy", channels=("sms", "mobile")):
        """Sends a marker message to user and waits until each of channels
        sent it: the sender works through due deliveries in order, so a
        second send of anything before the marker would have happened by
        then. Returns how many provider requests the marker made."""
        if "mobile" in channels:
            self.user_call("POST", "/v1/me/devices",
                           {"token": f"{user}-phone", "platform": "android"},
                           user=user)
        before = len(self.provider.requests)
        marker = self.publish(users=(user,), channels=channels, n=999)
        for channel in channels:
            self.wait_state(marker, channel, "sent", user=user)
        return len(self.provider.requests) - before

    def wait_state(self, message_id, channel, state, user="ada", timeout=10):
        ok = wait_until(lambda: self.delivery(message_id, channel,
                                              user)["state"] == state,
                        timeout)
        self.assertTrue(ok, (self.delivery(message_id, channel, user),
                             self.engine.log()[-3000:]))
        return self.delivery(message_id, channel, user)

    def test_each_channel_gets_exactly_one_send_next_to_the_inbox(self):
        message = self.publish()
        self.wait_state(message, "sms", "sent")
        self.wait_state(message, "mobile", "sent")
        self.settled()  # anything extra would have come before the marker
        sms = [r for r in self.provider.on("/sms")
               if r["body"]["recipient"] == "+4915100000001"]
        push = [r for r in self.provider.on("/fcm")
                if r["body"]["message"]["token"] == "ada-phone"]
        self.assertEqual(len(sms), 1)
        self.assertEqual(len(push), 1)
        self.assertEqual(sms[0]["body"]["recipient"], "+4915100000001")
        self.assertEqual(sms[0]["body"]["text"], "SMS body 1")
        self.assertEqual(sms[0]["headers"]["authorization"], SMS_SECRET)
        fcm = push[0]["body"]["message"]
        self.assertEqual(fcm["token"], "ada-phone")
        self.assertEqual(fcm["notification"],
                         {"title": "Push 1", "body": "Push body 1"})
        self.assertEqual(fcm["data"]["message_id"], str(message))
        status, _, inbox = self.user_call("GET", "/v1/me/messages")
        self.assertEqual(status, 200)
        self.assertEqual([m["id"] for m in inbox["messages"]], [message])
        # Credentials never reach the log, even at debug level.
        self.assertNotIn("sms-credential-never-logged", self.engine.log())
        self.assertNotIn("fcm-credential", self.engine.log())

    def test_server_errors_are_retried_with_one_idempotency_key(self):
        self.provider.script("/sms", (500, {"error": "down"}),
                             (502, {"error": "still down"}), (200, {}))
        message = self.publish(channels=("sms",))
        found = self.wait_state(message, "sms", "sent")
        self.assertEqual(found["attempts"], 3)
        requests = self.provider.on("/sms")
        self.assertEqual(len(requests), 3)
        keys = {r["headers"]["idempotency-key"] for r in requests}
        self.assertEqual(len(keys), 1)
        self.assertEqual(len(self.provider.on("/sms", sent_only=True)), 1)

    def test_retry_after_is_honoured(self):
        self.provider.script("/sms", (429, {}, {"Retry-After": "1"}),
                             (200, {}))
        message = self.publish(channels=("sms",))
        self.wait_state(message, "sms", "sent")
        first, second = self.provider.on("/sms")
        # The backoff alone would have retried after 100-200 ms.
        self.assertGreaterEqual(second["at"] - first["at"], 0.9)

    def test_a_refusal_is_dead_lettered_at_once(self):
        self.provider.script("/sms", (400, {"error": "invalid number"}))
        message = self.publish(channels=("sms",))
        found = self.wait_state(message, "sms", "dead")
        self.assertEqual(found["code"], "provider_refused")
        self.assertIn("HTTP 400", found["reason"])
        self.assertIn("invalid number", found["reason"])
        self.settled(channels=("sms",))
        self.assertEqual(len([r for r in self.provider.on("/sms")
                              if r["body"]["text"] == "SMS body 1"]), 1)
        status, _, view = self.admin_call("GET", "/v1/admin/channels?app=shop")
        self.assertEqual(status, 200)
        dead = [d for d in view["dead_letters"] if d["message_id"] == message]
        self.assertEqual(len(dead), 1)
        self.assertIn("invalid number", dead[0]["error"])
        sms = [q for q in view["queues"] if q["channel"] == "sms"][0]
        self.assertEqual(sms["dead"], 1)

    def test_attempts_run_out_into_a_dead_letter(self):
        self.put_provider("sms", {"url": self.provider.url("/sms"),
                                  "max_attempts": 2, "rate_per_second": 1000})
        self.restart_engine()  # a new engine reads the providers at start
        self.provider.script("/sms", (503, {}), (503, {}), (503, {}))
        message = self.publish(channels=("sms",))
        found = self.wait_state(message, "sms", "dead")
        self.assertEqual((found["code"], found["attempts"]),
                         ("max_attempts", 2))
        self.assertIn("HTTP 503", found["reason"])

    def test_an_invalid_device_token_is_unregistered(self):
        self.provider.script("/fcm", (404, {"error": {
            "status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}))
        message = self.publish(channels=("mobile",))
        found = self.wait_state(message, "mobile", "failed")
        self.assertEqual(found["code"], "no_device")
        status, _, devices = self.user_call("GET", "/v1/me/devices")
        self.assertEqual((status, devices["devices"]), (200, []))

    def test_a_user_without_a_phone_fails_visibly(self):
        self.sql("UPDATE herald.users SET phone = NULL WHERE external_id = 'bob'")
        message = self.publish(users=("bob",), channels=("sms",))
        found = self.wait_state(message, "sms", "failed", user="bob")
        self.assertEqual(found["code"], "no_phone")

    def test_a_crash_with_requests_in_flight_sends_each_once(self):
        # The provider takes the requests but answers too late: the engine
        # is killed before it hears back.
        self.provider.script("/sms", *[(200, {}, {}, 4)] * 3)
        message = self.publish(users=("ada", "bob", "cy"), channels=("sms",))
        self.assertTrue(wait_until(lambda: len(self.provider.on("/sms")) >= 1,
                                   10))
        self.engine.kill()
        self.engine = self.start_engine()
        for user in ("ada", "bob", "cy"):
            self.wait_state(message, "sms", "sent", user=user, timeout=20)
        sent = self.provider.on("/sms", sent_only=True)
        self.assertEqual(sorted(r["body"]["recipient"] for r in sent),
                         ["+4915100000001", "+4915100000002",
                          "+4915100000003"])
        self.assertEqual(self.sql(
            "SELECT count(*) FROM herald.deliveries"
            " WHERE channel = 'sms' AND state = 'sent'"
            "   AND sent_at IS NOT NULL"), "3")

    def test_quiet_hours_hold_sms_until_the_window_ends(self):
        self.sql("INSERT INTO herald.test_clock VALUES (true,"
                 " '2026-03-10 23:00:00+00')")
        status, _, _ = self.user_call("PUT", "/v1/me/preferences", {
            "time_zone": "Europe/Berlin",
            "preferences": [{"message_type": "*", "channel": "sms",
                             "quiet_start": "22:00", "quiet_end": "07:00"}]})
        self.assertEqual(status, 200)
        held = self.publish(channels=("sms",), n=1)
        # Held until 07:00 Berlin time. (Its reason_code, quiet_hours, is
        # decided on the real clock; storage.expansion covers it.)
        self.wait_state(held, "sms", "pending")
        self.assertEqual(self.sql(
            f"SELECT next_attempt_at = '2026-03-11 07:00:00+01'"
            f"  FROM herald.deliveries WHERE message_id = {held}"), "t")
        critical = self.publish(channels=("sms",), priority="critical", n=2)
        self.wait_state(critical, "sms", "sent")
        self.assertEqual(self.delivery(held, "sms")["state"], "pending")
        self.assertEqual([r["body"]["text"] for r in self.provider.on("/sms")],
                         ["SMS body 2"])
        # 06:00:01 UTC is 07:00:01 in Berlin: the window is over.
        self.sql("UPDATE herald.test_clock SET now = '2026-03-11 06:00:01+00'")
        self.wait_state(held, "sms", "sent")
        self.assertEqual([r["body"]["text"] for r in self.provider.on("/sms")],
                         ["SMS body 2", "SMS body 1"])

    def test_the_hourly_cap_suppresses_the_sixth_message(self):
        status, _, _ = self.user_call("PUT", "/v1/me/preferences", {
            "preferences": [{"message_type": "alert", "channel": "sms",
                             "hourly_cap": 5}]})
        self.assertEqual(status, 200)
        messages = [self.publish(channels=("sms",), n=i) for i in range(1, 7)]
        for message in messages[:5]:
            self.wait_state(message, "sms", "sent")
        sixth = self.wait_state(messages[5], "sms", "suppressed")
        self.assertEqual(sixth["code"], "hourly_cap")
        self.assertIn("more than 5 alert messages on sms", sixth["reason"])
        self.settled(channels=("sms",))
        self.assertEqual(len([r for r in self.provider.on("/sms")
                              if r["body"]["recipient"] == "+4915100000001"]),
                         5)

    def test_with_a_digest_body_the_excess_becomes_one_digest(self):
        self.sql("UPDATE herald.templates"
                 "   SET digest_body = '{{count}} more {{message_type}}s'")
        status, _, _ = self.user_call("PUT", "/v1/me/preferences", {
            "preferences": [{"message_type": "alert", "channel": "sms",
                             "hourly_cap": 2}]})
        self.assertEqual(status, 200)
        messages = [self.publish(channels=("sms",), n=i) for i in range(1, 6)]
        for message in messages[:2]:
            self.wait_state(message, "sms", "sent")
        for message in messages[2:]:
            found = self.wait_state(message, "sms", "suppressed")
            self.assertEqual(found["code"], "digested")
        self.settled(channels=("sms",))
        ada_sms = lambda: [r for r in self.provider.on("/sms")  # noqa: E731
                           if r["body"]["recipient"] == "+4915100000001"]
        self.assertEqual(len(ada_sms()), 2)
        # An hour later the three are one digest.
        self.sql("INSERT INTO herald.test_clock"
                 " VALUES (true, now() + interval '61 minutes')")
        self.assertTrue(wait_until(lambda: len(ada_sms()) == 3, 10))
        self.assertEqual(ada_sms()[2]["body"]["text"], "3 more alerts")
        self.assertEqual(self.sql(
            "SELECT count(DISTINCT digest_id) || '/' || count(*)"
            "  FROM herald.deliveries WHERE reason_code = 'digested'"), "1/3")
        self.settled(user="bob", channels=("sms",))
        self.assertEqual(len(ada_sms()), 3)

    def test_the_provider_rate_spaces_a_burst(self):
        self.put_provider("sms", {"url": self.provider.url("/sms"),
                                  "rate_per_second": 4})
        self.restart_engine()  # a new engine reads the providers at start
        messages = [self.publish(users=("ada", "bob", "cy"),
                                 channels=("sms",), n=i) for i in range(3)]
        for message in messages:
            for user in ("ada", "bob", "cy"):
                self.wait_state(message, "sms", "sent", user=user)
        times = sorted(r["at"] for r in self.provider.on("/sms"))
        self.assertEqual(len(times), 9)
        # A burst of 4, then one every 250 ms: 5 more take at least 1.25 s.
        self.assertGreaterEqual(times[-1] - times[0], 1.1)

    def test_providers_are_admin_only_and_checked(self):
        status, _, answer = self.admin_call(
            "GET", "/v1/admin/apps/shop/providers/sms")
        self.assertEqual(status, 200)
        self.assertTrue(answer["auth_header_set"])
        self.assertNotIn("auth_header", answer)
        status, _, answer = self.admin_call(
            "PUT", "/v1/admin/apps/shop/providers/fax", {"url": "http://x/"})
        self.assertEqual((status, answer["error"]["code"]),
                         (404, "unknown_channel"))
        status, _, answer = self.admin_call(
            "PUT", "/v1/admin/apps/shop/providers/sms", {"url": "ftp://x/"})
        self.assertEqual((status, answer["error"]["code"]), (400, "bad_field"))
        status, _, answer = self.admin_call(
            "PUT", "/v1/admin/apps/shop/providers/sms",
            {"url": "http://x/", "kind": "fcm"})
        self.assertEqual((status, answer["error"]["code"]), (400, "bad_field"))
        self.assertIn("kind", answer["error"]["message"])
        status, _, _ = self.user_call("GET",
                                      "/v1/admin/apps/shop/providers/sms")
        self.assertIn(status, (401, 404))
        status, _, answer = self.user_call("DELETE", "/v1/me/devices/nope")
        self.assertEqual((status, answer["error"]["code"]),
                         (404, "unknown_device"))
        status, _, _ = self.user_call("DELETE", "/v1/me/devices/ada-phone")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
