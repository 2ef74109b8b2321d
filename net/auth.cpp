#include "net/auth.hpp"

#include "core/app_directory.hpp"
#include "core/jwt.hpp"
#include "core/sha256.hpp"

#include <algorithm>
#include <chrono>

namespace herald::net {

namespace {

auth_outcome refuse(unsigned status, std::string code, std::string message) {
  auth_outcome out;
  out.status = status;
  out.code = std::move(code);
  out.message = std::move(message);
  return out;
}

// Compares digests without an early exit, so that timing tells nothing of
// the admin token.
bool same_secret(const std::string& given, const std::string& expected) {
  auto a = sha256_hex(given);
  auto b = sha256_hex(expected);
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

} // namespace

std::string bearer_of(const http_request& req) {
  auto header = req.header("authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (!header || header->substr(0, scheme.size()) != scheme)
    return {};
  return std::string{header->substr(scheme.size())};
}

std::optional<http_response> check_admin(const http_request& req,
                                         const std::string& admin_token) {
  if (admin_token.empty())
    return json_error(403, "admin_disabled",
                      "the admin API is off: set admin.token");
  if (!same_secret(bearer_of(req), admin_token))
    return json_error(401, "invalid_admin_token",
                      "send Authorization: Bearer <admin.token>");
  return std::nullopt;
}

auth_outcome authenticate(const app_directory& apps, std::string_view token,
                          std::optional<std::string_view> origin,
                          int64_t now_unix) {
  if (token.empty())
    return refuse(401, "missing_token",
                  "a user token is required (Authorization: Bearer, or the "
                  "token query parameter)");
  auto audience = jwt::peek_audience(token);
  if (!audience)
    return refuse(401, "invalid_token", "the token names no app (aud)");
  auto app = apps.find(*audience);
  if (!app)
    return refuse(401, "invalid_token", "unknown app in the token audience");
  auto verified =
    jwt::verify_hs256(token, app->token_secret, app->name, now_unix);
  if (auto err = std::get_if<jwt::error>(&verified)) {
    auto code = *err == jwt::error::expired ? "token_expired" : "invalid_token";
    return refuse(401, code,
                  std::string{"token rejected: "} + jwt::to_string(*err));
  }
  if (app->disabled)
    return refuse(403, "app_disabled", "this app is disabled");
  if (origin) {
    const auto& allowed = app->allowed_origins;
    bool ok =
      std::find(allowed.begin(), allowed.end(), "*") != allowed.end() ||
      std::find(allowed.begin(), allowed.end(), *origin) != allowed.end();
    if (!ok)
      return refuse(403, "origin_not_allowed",
                    "origin " + std::string{*origin} +
                      " is not allowed for this app");
  }
  const auto& claims = std::get<jwt::claims>(verified);
  auth_outcome out;
  out.who = identity{app->id, app->name, claims.sub, claims.exp};
  return out;
}

std::string token_of(const http_request& req) {
  if (auto auth = req.header("authorization")) {
    constexpr std::string_view bearer = "Bearer ";
    if (auth->substr(0, bearer.size()) == bearer)
      return std::string{auth->substr(bearer.size())};
  }
  auto it = req.query.find("token");
  return it == req.query.end() ? std::string{} : it->second;
}

int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace herald::net
