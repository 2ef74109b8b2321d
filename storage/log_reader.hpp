#pragma once

#include "storage/log_entry.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace herald::storage {

/// Reads the stream log in position order: what every engine's tailer
/// does after each wake-up. Blocking: run it in a detached actor. Keeps one
/// connection, reopened after it breaks.
class log_reader {
public:
  explicit log_reader(std::string database_url);
  ~log_reader();

  log_reader(const log_reader&) = delete;
  log_reader& operator=(const log_reader&) = delete;

  /// The newest committed position.
  int64_t head();

  /// The entries after `after`, at most `max_positions` positions of them,
  /// up to the newest committed position. Throws storage::error.
  log_batch read_after(int64_t after, int64_t max_positions);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
