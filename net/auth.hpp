#pragma once

#include "core/fwd.hpp"
#include "net/http_types.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace herald::net {

/// Who a client is, once its token checked out.
struct identity {
  int64_t app_id = 0;
  std::string app;
  std::string user; ///< the token's sub: the user's id in the app
  int64_t expires_at = 0;
};

/// Either an identity or the HTTP error to answer with.
struct auth_outcome {
  std::optional<identity> who;
  unsigned status = 0;
  std::string code;
  std::string message;
  /// Seconds for Retry-After (503 while the engine starts), or 0.
  int retry_after = 0;

  http_response error_response() const {
    auto res = json_error(status, code, message);
    if (retry_after > 0)
      res.headers.emplace_back("Retry-After", std::to_string(retry_after));
    return res;
  }
};

/// Checks a user token: HS256, signed with the secret of the app its
/// audience names, not expired, not before its nbf. Then, when the request
/// comes from a browser (an Origin header), that the origin is on the app's
/// allow-list ("*" allows any). 401 for token problems, 403 for origins and
/// disabled apps; 503 with retry_after while the apps are not loaded yet
/// (the engine is starting: a valid token must not look invalid).
auth_outcome authenticate(const app_directory& apps, std::string_view token,
                          std::optional<std::string_view> origin,
                          int64_t now_unix);

/// The token of a request: `Authorization: Bearer ...`, else the `token`
/// query parameter (browsers cannot set headers on WebSocket and SSE).
std::string token_of(const http_request& req);

/// The operator's check for admin routes, shared by every admin route of
/// a listener: the token compared in constant time, and wrong tokens
/// throttled per source address (a token bucket: `burst` failures at once,
/// then one per `refill` seconds; past it every admin request from that
/// address gets 429 with Retry-After, right token or not, so guessing
/// cannot go faster). The first failure of each address is logged, the
/// rest only counted. Thread-safe.
class admin_guard {
public:
  explicit admin_guard(std::string admin_token, double burst = 10,
                       double refill_seconds = 1);
  ~admin_guard();

  /// nullopt when `req` carries `Authorization: Bearer <admin token>`,
  /// else the response: 401, 429 (throttled) or 403 (no admin token set).
  std::optional<http_response> check(const http_request& req);

  /// Wrong tokens seen so far, from any address.
  uint64_t failures() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The bearer credential of a request (`Authorization: Bearer ...`), or "".
std::string bearer_of(const http_request& req);

/// Now, in seconds since the epoch.
int64_t unix_now();

} // namespace herald::net
