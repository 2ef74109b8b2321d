#pragma once

#include "core/fwd.hpp"
#include "net/http_types.hpp"

#include <cstdint>
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

  http_response error_response() const {
    return json_error(status, code, message);
  }
};

/// Checks a user token: HS256, signed with the secret of the app its
/// audience names, not expired, not before its nbf. Then, when the request
/// comes from a browser (an Origin header), that the origin is on the app's
/// allow-list ("*" allows any). 401 for token problems, 403 for origins and
/// disabled apps.
auth_outcome authenticate(const app_directory& apps, std::string_view token,
                          std::optional<std::string_view> origin,
                          int64_t now_unix);

/// The token of a request: `Authorization: Bearer ...`, else the `token`
/// query parameter (browsers cannot set headers on WebSocket and SSE).
std::string token_of(const http_request& req);

/// The operator's check for admin routes: nullopt when the request carries
/// `Authorization: Bearer <admin_token>`, else the 401 (or 403 when no
/// admin token is configured) to answer with.
std::optional<http_response> check_admin(const http_request& req,
                                         const std::string& admin_token);

/// The bearer credential of a request (`Authorization: Bearer ...`), or "".
std::string bearer_of(const http_request& req);

/// Now, in seconds since the epoch.
int64_t unix_now();

} // namespace herald::net
