#pragma once

#include "core/delivery.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace herald::storage {

/// One message as the stream log's readers get it: what its web
/// recipients are shown (sealed once, shared), and what their preferences
/// decide on.
struct message_content {
  std::string message_type;
  std::string priority;
  std::shared_ptr<const web_content> web; ///< never null
};

/// One position of the stream log: a message on one or more streams, or a
/// control entry (no message) telling the engines holding user `stream`
/// that its memberships or preferences changed.
struct log_entry {
  int64_t position = 0;
  std::vector<std::string> streams; ///< "user:12", "topic:3", "app:1", ...
  std::shared_ptr<const message_content> message; ///< null: control entry
};

/// Consecutive log entries read at once, in position order, and the
/// position the reader has now seen everything up to (entries may be
/// fewer than positions: a message without web text takes a position
/// without a log entry).
struct log_batch {
  int64_t after = 0;   ///< exclusive
  int64_t through = 0; ///< inclusive
  std::vector<log_entry> entries;
};

} // namespace herald::storage
