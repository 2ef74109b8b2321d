#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace herald {

/// A message as its web recipients are shown it, before it is serialised
/// (protocol::seal).
struct web_message {
  int64_t id = 0; ///< herald.outbox id
  std::string template_code;
  std::string title;
  std::string body;
  std::string data_json = "{}"; ///< the message's vars, a JSON object
  std::string created_at;       ///< ISO 8601, UTC
  double created_unix = 0;      ///< the same, in seconds since the epoch
};

/// A message's part of every frame, the same for all its web recipients:
/// serialised once (protocol::seal) and shared by pointer, so a message to
/// 100,000 users is neither copied nor serialised 100,000 times.
struct web_content {
  int64_t id = 0;          ///< herald.outbox id
  double created_unix = 0; ///< commit time, seconds since the epoch
  /// The JSON members that sort before "seq" and those that sort after
  /// "silent" (a frame's members are in key order).
  std::string members_before_seq;
  std::string members_after_seq;

  /// The bytes it holds, for caches with a byte budget.
  size_t weight() const {
    return members_before_seq.size() + members_after_seq.size();
  }
};

/// One web delivery as a client sees it: what a `msg` frame, an SSE event
/// or a long-poll item carries. Only the position and `silent` are the
/// recipient's own.
struct delivery {
  int64_t seq = 0; ///< the message's position in the stream log
  /// Sent during the user's quiet hours: show it, but without a badge or
  /// a sound (core/web_policy.hpp).
  bool silent = false;
  std::shared_ptr<const web_content> content; ///< never null

  int64_t message_id() const { return content->id; }
};

} // namespace herald
