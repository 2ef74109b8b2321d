#pragma once

#include "net/http_types.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace herald::net {

/// Handles one matched request; answers through `respond`, now or later.
using http_handler = std::function<void(http_request&, responder respond)>;

/// Maps method + path pattern to handlers. A pattern is a path whose
/// segments may be `{name}` placeholders ("/v1/messages/{id}"); matched
/// values land in http_request::params. No match: 404; a path that matches
/// under another method: 405 with an Allow header. Both as JSON errors.
class router {
public:
  /// `body_limit`: the largest request body the route takes, when it is
  /// not the server's (0).
  void add(std::string method, std::string pattern, http_handler handler,
           size_t body_limit = 0);

  /// Handles GET and HEAD requests that match no route (static files);
  /// without one they get 404.
  void set_fallback(http_handler handler) { fallback_ = std::move(handler); }

  /// Routes `req`, or answers the 404/405 itself.
  void dispatch(http_request& req, responder respond) const;

  /// "METHOD pattern" of every route, in the order they were added.
  std::vector<std::string> routes() const;

  /// The body limit of the route `method` and `path` (decoded) go to, or 0
  /// for the server's.
  size_t body_limit(const std::string& method, const std::string& path) const;

  /// The largest body limit of any route (0: none has its own).
  size_t largest_body_limit() const;

private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    http_handler handler;
    size_t body_limit = 0;
  };

  static bool match(const route& r, const std::vector<std::string>& segments,
                    std::map<std::string, std::string>& params);

  std::vector<route> routes_;
  http_handler fallback_;
};

} // namespace herald::net
