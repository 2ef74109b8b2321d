#pragma once

#include "net/detail/beast.hpp"
#include "net/detail/connection_stream.hpp"
#include "net/detail/session_registry.hpp"
#include "net/http_types.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald::net::detail {

/// A route that takes the connection over from the HTTP session instead of
/// answering one request: the WebSocket upgrade and the SSE stream.
class takeover {
public:
  virtual ~takeover() = default;

  /// "METHOD /path" of what it serves (for the route list).
  virtual std::string route() const = 0;

  /// Whether this handler is for `req`.
  virtual bool matches(const http_request& req) const = 0;

  /// Either refuses with the response to send (the HTTP session writes it
  /// and goes on), or takes `stream` (moved from) and returns nullopt.
  virtual std::optional<http_response>
  take(http_request& req, http::request<http::string_body>& raw,
       connection_stream& stream, beast::flat_buffer& buffer,
       session_registry& registry) = 0;
};

using takeover_list = std::vector<std::shared_ptr<takeover>>;

} // namespace herald::net::detail
