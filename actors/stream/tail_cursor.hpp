#pragma once

#include <atomic>
#include <cstdint>

namespace herald::actors {

/// How far the tailer has handed the stream log to the user shards, shared
/// by the tailer and the shards so that either can restart without a gap:
/// a restarted tailer goes on from here, a restarted shard starts its live
/// range here. The tailer stores a batch's end before it sends the batch.
struct tail_cursor {
  /// -1 until the tailer has read the log head once.
  std::atomic<int64_t> dispatched{-1};
};

} // namespace herald::actors
