#define CAF_SUITE net.auth

#include "net/auth.hpp"

#include "core/app_directory.hpp"
#include "core/jwt.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace herald;
using namespace herald::net;

namespace {

http_request admin_request(const std::string& token,
                           const std::string& from = "10.0.0.1") {
  http_request req;
  req.method = "GET";
  req.path = "/v1/admin/apps";
  req.remote_address = from;
  req.headers.emplace_back("authorization", "Bearer " + token);
  return req;
}

std::string header(const http_response& res, const std::string& name) {
  for (const auto& [key, value] : res.headers)
    if (key == name)
      return value;
  return {};
}

app_directory::snapshot shop(const std::string& secret) {
  app_info app;
  app.id = 1;
  app.name = "shop";
  app.token_secret = secret;
  app.allowed_origins = {"*"};
  return {{"shop", app}};
}

} // namespace

CAF_TEST(the right admin token passes and a wrong one gets 401) {
  admin_guard guard{"the-right-admin-token"};
  CAF_CHECK(!guard.check(admin_request("the-right-admin-token")));
  auto refused = guard.check(admin_request("wrong"));
  CAF_REQUIRE(refused);
  CAF_CHECK_EQUAL(refused->status, 401u);
  CAF_CHECK_EQUAL(guard.failures(), 1u);
}

CAF_TEST(wrong admin tokens are throttled per address - the right one too) {
  admin_guard guard{"the-right-admin-token", 3, 60};
  for (int i = 0; i < 3; ++i) {
    auto refused = guard.check(admin_request("wrong"));
    CAF_REQUIRE(refused);
    CAF_CHECK_EQUAL(refused->status, 401u);
  }
  auto throttled = guard.check(admin_request("wrong"));
  CAF_REQUIRE(throttled);
  CAF_CHECK_EQUAL(throttled->status, 429u);
  CAF_CHECK_EQUAL(header(*throttled, "Retry-After"), "60");
  // Guessing right does not get past the throttle.
  auto right = guard.check(admin_request("the-right-admin-token"));
  CAF_REQUIRE(right);
  CAF_CHECK_EQUAL(right->status, 429u);
  // Another address is not affected.
  CAF_CHECK(!guard.check(admin_request("the-right-admin-token", "10.0.0.2")));
}

CAF_TEST(no admin token configured means the admin routes are off) {
  admin_guard guard{""};
  auto refused = guard.check(admin_request(""));
  CAF_REQUIRE(refused);
  CAF_CHECK_EQUAL(refused->status, 403u);
}

CAF_TEST(tokens get 503 with Retry - After until the apps are loaded) {
  app_directory apps;
  auto token = jwt::sign_hs256(
    nlohmann::json{{"sub", "ada"}, {"aud", "shop"}, {"exp", unix_now() + 60}},
    "secret-1");
  auto before = authenticate(apps, token, std::nullopt, unix_now());
  CAF_CHECK_EQUAL(before.status, 503u);
  CAF_CHECK_EQUAL(before.retry_after, 1);
  auto response = before.error_response();
  CAF_CHECK_EQUAL(header(response, "Retry-After"), "1");
  apps.replace(shop("secret-1"));
  auto after = authenticate(apps, token, std::nullopt, unix_now());
  CAF_REQUIRE(after.who);
  CAF_CHECK_EQUAL(after.who->user, "ada");
}

CAF_TEST(a changed or removed token secret is reported once) {
  app_directory apps;
  std::vector<std::vector<int64_t>> revoked;
  apps.on_revocation([&](std::vector<int64_t> ids) { revoked.push_back(ids); });
  apps.replace(shop("secret-1")); // the first load revokes nothing
  apps.replace(shop("secret-1")); // nor does an unchanged one
  CAF_CHECK(revoked.empty());
  apps.replace(shop("secret-2"));
  CAF_REQUIRE_EQUAL(revoked.size(), 1u);
  CAF_CHECK_EQUAL(revoked[0], std::vector<int64_t>{1});
  apps.replace({});
  CAF_CHECK_EQUAL(revoked.size(), 2u);
}
