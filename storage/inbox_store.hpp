#pragma once

#include "core/delivery.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald::storage {

/// A user as the delivery side knows them.
struct inbox_user {
  int64_t id = 0;
  int64_t last_seq = 0; ///< the newest seq given to one of their deliveries
};

/// Reads and updates users' web inboxes: what the user actors need from
/// the database. Blocking: used by the detached database workers. Keeps
/// one connection, reopened after it breaks.
class inbox_store {
public:
  explicit inbox_store(std::string database_url);
  ~inbox_store();

  inbox_store(const inbox_store&) = delete;
  inbox_store& operator=(const inbox_store&) = delete;

  /// The user `external_id` of app `app_id`, if they exist.
  std::optional<inbox_user> find_user(int64_t app_id,
                                      const std::string& external_id);

  /// Up to `limit` of the user's web deliveries with seq > `after`, in seq
  /// order (suppressed ones have no seq and never appear).
  std::vector<delivery> load_after(int64_t user_id, int64_t after,
                                   size_t limit);

  /// Marks the user's deliveries up to `sent_seq` as sent (if still
  /// pending) and up to `acked_seq` as acknowledged, in one transaction
  /// that does not wait for its WAL flush (0: leave that part out).
  void record_progress(int64_t user_id, int64_t sent_seq, int64_t acked_seq);

  /// Marks the user's web delivery of `message_id` read; false when the
  /// user has no such delivery.
  bool mark_read(int64_t user_id, int64_t message_id);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
