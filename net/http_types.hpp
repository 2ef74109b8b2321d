#pragma once

// HTTP requests and responses as the router and handlers see them: plain
// structs with no Beast in them, so that handlers are cheap to compile and
// easy to test.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::net {

struct http_request {
  std::string method; ///< "GET", "POST", ...
  std::string target; ///< As sent: path and query.
  std::string path;   ///< Percent-decoded path without the query.
  std::map<std::string, std::string> query;
  /// Header fields with lower-case names, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;
  /// Values of {name} segments of the matched route.
  std::map<std::string, std::string> params;

  /// The first header named `name` (lower case), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Completes a request; may be called from any thread, exactly once.
using responder = std::function<void(http_response)>;

/// A JSON response {"error": {"code", "message"}} with `status`.
http_response json_error(unsigned status, std::string_view code,
                         std::string_view message);

/// A JSON response with `status` and `body` (already serialised JSON).
http_response json_response(unsigned status, std::string body);

/// Splits "/a/b?x=1&y=2" into its decoded path and query parameters.
/// Returns false for a target that is not a valid origin-form path.
bool parse_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query);

} // namespace herald::net
