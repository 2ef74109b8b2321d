#pragma once

#include "core/delivery.hpp"
#include "core/web_policy.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald::storage {

/// A stream of a user's feed and the position from which it counts.
struct feed_stream {
  std::string stream;
  int64_t since = 0;
};

/// What the delivery side needs to serve a user.
struct inbox_user {
  int64_t id = 0;
  int64_t sent = 0;   ///< the position the user's clients were sent
  int64_t acked = 0;  ///< the position the user's clients acknowledged
  int64_t newest = 0; ///< the newest position in the user's feed
  std::vector<feed_stream> streams;
  std::vector<web_preference> preferences;
  int utc_offset_seconds = 0; ///< of the user's time zone, now
};

/// A user to load: the app and the user's id in it.
struct user_ref {
  int64_t app_id = 0;
  std::string external_id;
};

/// A read of one user's feed: messages in (after, through], up to `limit`
/// of them and to `max_bytes` of text (the first message whatever its
/// size).
struct feed_range {
  int64_t user_id = 0;
  int64_t after = 0;
  int64_t through = 0;
  size_t limit = 0;
  size_t max_bytes = 1024 * 1024;
};

/// What a read of a feed range found.
struct feed_read {
  /// In position order, the user's preferences applied.
  std::vector<delivery> deliveries;
  /// The range holds nothing more up to here than `deliveries`: `through`
  /// when the read took it all, less when a budget or a stream's limit
  /// stopped it (a read that leaves messages out by preference may be
  /// short and still not complete).
  int64_t complete_through = 0;
};

/// One user's progress for a batched cursor update.
struct cursor_update {
  int64_t user_id = 0;
  int64_t sent = 0;
  int64_t acked = 0;
};

/// Reads users' web feeds and writes their cursors: what the user actors
/// need from the database. Blocking: used by the detached database
/// workers. Keeps one connection, reopened after it breaks.
class inbox_store {
public:
  explicit inbox_store(std::string database_url);
  ~inbox_store();

  inbox_store(const inbox_store&) = delete;
  inbox_store& operator=(const inbox_store&) = delete;

  /// Many users in one statement, answered in the order asked: id 0 for
  /// a user who does not exist.
  std::vector<inbox_user> load_users(const std::vector<user_ref>& users);

  /// Many users' feeds in one statement, answered in the order asked.
  std::vector<feed_read> load_feeds(const std::vector<feed_range>& ranges);

  /// Moves many users' sent and acked positions forward in one statement
  /// that does not wait for its WAL flush (a lost update only means a
  /// resend, which clients dedup).
  void record_cursors(const std::vector<cursor_update>& updates);

  /// For the hourly cap: the user's feed up to `through`, counted per type
  /// and clock hour, for the current and the previous hour.
  std::vector<cap_count> load_cap_counts(int64_t user_id, int64_t through);

  /// Marks message `message_id` read; false when it is not in the user's
  /// feed.
  bool mark_read(int64_t user_id, int64_t message_id);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
