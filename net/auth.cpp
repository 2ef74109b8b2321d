#include "net/auth.hpp"

#include "core/app_directory.hpp"
#include "core/jwt.hpp"
#include "core/log.hpp"
#include "core/sha256.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <unordered_map>

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

struct admin_guard::impl {
  using clock = std::chrono::steady_clock;

  struct source {
    double tokens = 0;
    clock::time_point updated;
    uint64_t failures = 0;
  };

  std::string token;
  double burst;
  double per_second;
  std::mutex mutex;
  std::unordered_map<std::string, source> sources;
  std::atomic<uint64_t> failures{0};

  // Refills the bucket of `s` up to `now`.
  void refill(source& s, clock::time_point now) const {
    std::chrono::duration<double> elapsed = now - s.updated;
    s.tokens = std::min(burst, s.tokens + elapsed.count() * per_second);
    s.updated = now;
  }

  // Seconds until `s` may try again (0: now).
  int wait_of(const source& s) const {
    if (s.tokens >= 1.0)
      return 0;
    return static_cast<int>(std::ceil((1.0 - s.tokens) / per_second));
  }

  // An address that failed is remembered until its bucket is full again;
  // the map is swept when it grows, so a flood of addresses stays bounded.
  void sweep(clock::time_point now) {
    if (sources.size() < 4096)
      return;
    for (auto it = sources.begin(); it != sources.end();) {
      refill(it->second, now);
      it = it->second.tokens >= burst ? sources.erase(it) : std::next(it);
    }
    if (sources.size() >= 65536) // still too many: start afresh
      sources.clear();
  }
};

admin_guard::admin_guard(std::string admin_token, double burst,
                         double refill_seconds)
  : impl_(std::make_unique<impl>()) {
  impl_->token = std::move(admin_token);
  impl_->burst = std::max(1.0, burst);
  impl_->per_second = 1.0 / std::max(0.001, refill_seconds);
}

admin_guard::~admin_guard() = default;

uint64_t admin_guard::failures() const {
  return impl_->failures;
}

std::optional<http_response> admin_guard::check(const http_request& req) {
  auto& i = *impl_;
  if (i.token.empty())
    return json_error(403, "admin_disabled",
                      "the admin API is off: set admin.token");
  auto throttled = [](int wait) {
    auto res = json_error(429, "admin_throttled",
                          "too many wrong admin tokens from this address; "
                          "retry in " +
                            std::to_string(wait) + " s");
    res.headers.emplace_back("Retry-After", std::to_string(wait));
    return res;
  };
  auto now = impl::clock::now();
  {
    std::lock_guard<std::mutex> guard{i.mutex};
    auto it = i.sources.find(req.remote_address);
    if (it != i.sources.end()) {
      i.refill(it->second, now);
      if (auto wait = i.wait_of(it->second); wait > 0)
        return throttled(wait);
    }
  }
  if (same_secret(bearer_of(req), i.token))
    return std::nullopt;
  ++i.failures;
  bool first = false;
  {
    std::lock_guard<std::mutex> guard{i.mutex};
    i.sweep(now);
    auto [it, fresh] =
      i.sources.try_emplace(req.remote_address, impl::source{i.burst, now});
    auto& s = it->second;
    if (!fresh)
      i.refill(s, now);
    s.tokens = std::max(0.0, s.tokens - 1.0);
    first = s.failures++ == 0;
  }
  // Once per address (until it is forgotten): a flood must not flood the
  // log too.
  if (first)
    log::get("net")->warn("wrong admin token from {} ({} {}); further "
                          "failures from this address are throttled and "
                          "not logged",
                          req.remote_address, req.method, req.path);
  return json_error(401, "invalid_admin_token",
                    "send Authorization: Bearer <admin.token>");
}

auth_outcome authenticate(const app_directory& apps, std::string_view token,
                          std::optional<std::string_view> origin,
                          int64_t now_unix) {
  if (!apps.loaded()) {
    auto out = refuse(503, "starting",
                      "the engine is starting and cannot check tokens yet; "
                      "retry shortly");
    out.retry_after = 1;
    return out;
  }
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
