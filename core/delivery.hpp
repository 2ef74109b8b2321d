#pragma once

#include <cstdint>
#include <string>

namespace herald {

/// One web delivery as a client sees it: what a `msg` frame, an SSE event
/// or a long-poll item carries.
struct delivery {
  int64_t seq = 0;        ///< the message's position in the stream log
  int64_t message_id = 0; ///< herald.outbox id
  std::string template_code;
  std::string channel = "web";
  std::string title;
  std::string body;
  std::string data_json = "{}"; ///< the message's vars, a JSON object
  std::string created_at;       ///< ISO 8601, UTC
  /// Sent during the user's quiet hours: show it, but without a badge or
  /// a sound (core/web_policy.hpp).
  bool silent = false;
};

} // namespace herald
