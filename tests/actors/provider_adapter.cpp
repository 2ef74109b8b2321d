#define CAF_SUITE actors.provider_adapter

#include "actors/channel/provider_adapter.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

using namespace herald;
using namespace herald::actors::channel;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

storage::provider_config sms_provider() {
  storage::provider_config p;
  p.app_id = 1;
  p.channel = "sms";
  p.kind = "webhook";
  p.url = "http://127.0.0.1:9/sms";
  p.auth_header = "Bearer secret";
  return p;
}

storage::claimed_delivery delivery() {
  storage::claimed_delivery d;
  d.id = 42;
  d.message_id = 7;
  d.app_id = 1;
  d.app = "shop";
  d.attempts = 1;
  d.phone = "+4915112345678";
  d.content_json = R"({"title": "Paid", "body": "Order \"A-1\" paid"})";
  d.priority = "normal";
  return d;
}

std::string header(const outbound_request& req, const std::string& name) {
  for (const auto& [key, value] : req.headers)
    if (key == name)
      return value;
  return {};
}

const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);

} // namespace

CAF_TEST(an sms fills the body shape and keeps one idempotency key) {
  auto provider = sms_provider();
  provider.body_shape_json =
    R"({"recipient": "{{to}}", "text": "{{body}}", "meta": ["ref-{{delivery_id}}", 3]})";
  auto prepared = prepare(provider, delivery());
  CAF_REQUIRE_EQUAL(prepared.calls.size(), 1u);
  const auto& req = prepared.calls[0].request;
  auto body = json::parse(req.body);
  CAF_CHECK_EQUAL(body["recipient"], "+4915112345678");
  // Quotes in the text stay inside the JSON string.
  CAF_CHECK_EQUAL(body["text"], "Order \"A-1\" paid");
  CAF_CHECK_EQUAL(body["meta"][0], "ref-42");
  CAF_CHECK_EQUAL(body["meta"][1], 3);
  CAF_CHECK_EQUAL(header(req, "Authorization"), "Bearer secret");
  CAF_CHECK_EQUAL(header(req, "Idempotency-Key"), "herald-42");
  // The same delivery again (a retry) gives the same request.
  auto again = prepare(provider, delivery());
  CAF_CHECK_EQUAL(again.calls.at(0).request.body, req.body);
}

CAF_TEST(a named auth header is sent under its own name) {
  auto provider = sms_provider();
  provider.auth_header = "X-Api-Key: k-123";
  auto req = prepare(provider, delivery()).calls.at(0).request;
  CAF_CHECK_EQUAL(header(req, "X-Api-Key"), "k-123");
  CAF_CHECK_EQUAL(header(req, "Authorization"), "");
}

CAF_TEST(nothing to send to is a failure with a reason) {
  auto d = delivery();
  d.phone.reset();
  auto prepared = prepare(sms_provider(), d);
  CAF_CHECK(prepared.calls.empty());
  CAF_CHECK_EQUAL(prepared.failure_code, "no_phone");
  auto push = sms_provider();
  push.channel = "mobile";
  push.kind = "fcm";
  CAF_CHECK_EQUAL(prepare(push, delivery()).failure_code, "no_device");
}

CAF_TEST(mobile push makes one fcm request per device) {
  auto provider = sms_provider();
  provider.channel = "mobile";
  provider.kind = "fcm";
  auto d = delivery();
  d.priority = "critical";
  d.devices = {{5, "tok-a"}, {6, "tok-b"}};
  auto prepared = prepare(provider, d);
  CAF_REQUIRE_EQUAL(prepared.calls.size(), 2u);
  auto body = json::parse(prepared.calls[1].request.body);
  CAF_CHECK_EQUAL(body["message"]["token"], "tok-b");
  CAF_CHECK_EQUAL(body["message"]["notification"]["title"], "Paid");
  CAF_CHECK_EQUAL(body["message"]["data"]["message_id"], "7");
  CAF_CHECK_EQUAL(body["message"]["android"]["priority"], "high");
  CAF_CHECK_EQUAL(prepared.calls[1].device_id, 6);
  CAF_CHECK_EQUAL(header(prepared.calls[1].request, "Idempotency-Key"),
                  "herald-42-6");
}

CAF_TEST(answers are judged by status) {
  CAF_CHECK(judge("webhook", {200, "{}", {}}, now).what == verdict::sent);
  CAF_CHECK(judge("webhook", {503, "busy", {}}, now).what == verdict::retry);
  auto limited = judge("webhook", {429, "", std::string{"7"}}, now);
  CAF_CHECK(limited.what == verdict::retry);
  CAF_CHECK(limited.retry_after == std::chrono::milliseconds{7000});
  auto refused = judge("webhook", {400, "bad number", {}}, now);
  CAF_CHECK(refused.what == verdict::refused);
  CAF_CHECK_EQUAL(refused.error, "HTTP 400: bad number");
  CAF_CHECK(judge("fcm", {404, "", {}}, now).what == verdict::invalid_token);
  CAF_CHECK(
    judge("fcm", {400, R"({"error":{"status":"UNREGISTERED"}})", {}}, now)
      .what == verdict::invalid_token);
  CAF_CHECK(judge("webhook", {404, "", {}}, now).what == verdict::refused);
}

CAF_TEST(retry after takes seconds or an http date) {
  CAF_CHECK(parse_retry_after("120", now) == std::chrono::milliseconds{120000});
  // 1,700,000,000 s is Tue, 14 Nov 2023 22:13:20 GMT.
  CAF_CHECK(parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now) ==
            std::chrono::milliseconds{30000});
  CAF_CHECK(parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now) ==
            std::chrono::milliseconds{0});
  // More than a day, as seconds or as a date far ahead: a day.
  CAF_CHECK(parse_retry_after("999999999", now) ==
            std::chrono::milliseconds{86400000});
  CAF_CHECK(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) ==
            std::chrono::milliseconds{86400000});
  CAF_CHECK(!parse_retry_after("soon", now));
}

CAF_TEST(urls are split for the request) {
  auto u = parse_url("https://fcm.googleapis.com/v1/projects/p/messages:send");
  CAF_CHECK(u.tls);
  CAF_CHECK_EQUAL(u.host, "fcm.googleapis.com");
  CAF_CHECK_EQUAL(u.port, "443");
  CAF_CHECK_EQUAL(u.target, "/v1/projects/p/messages:send");
  auto plain = parse_url("http://127.0.0.1:8099");
  CAF_CHECK(!plain.tls);
  CAF_CHECK_EQUAL(plain.port, "8099");
  CAF_CHECK_EQUAL(plain.target, "/");
  bool refused = false;
  try {
    parse_url("ftp://x/");
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  CAF_CHECK(refused);
}
