#pragma once

#include "storage/log_entry.hpp"

#include <cstdint>

namespace herald::storage {

/// Where a tailer reads the stream log: the database (log_reader), or a
/// test's own entries. Blocking; throws storage::error when it cannot read.
class log_source {
public:
  virtual ~log_source() = default;

  /// The newest committed position.
  virtual int64_t head() = 0;

  /// The entries after `after`, at most `max_positions` positions of them,
  /// up to the newest committed position; `through` says how far the
  /// batch covers (entries may be fewer than positions).
  virtual log_batch read_after(int64_t after, int64_t max_positions) = 0;
};

} // namespace herald::storage
