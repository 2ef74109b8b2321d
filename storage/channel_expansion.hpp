#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace herald::storage {

/// Writes the sms and mobile deliveries of messages already in the log, a
/// batch of messages per transaction (herald.expand_channel_deliveries):
/// one row per recipient and channel, after the web path has its entry.
/// Blocking: run it in a detached actor. Keeps one connection.
class channel_expansion {
public:
  explicit channel_expansion(std::string database_url);
  ~channel_expansion();

  channel_expansion(const channel_expansion&) = delete;
  channel_expansion& operator=(const channel_expansion&) = delete;

  /// Expands up to `limit` messages; returns how many it took. Throws
  /// storage::error.
  size_t expand_batch(size_t limit);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
