#pragma once

#include "core/bounded_log.hpp"
#include "core/web_policy.hpp"

#include <chrono>
#include <cstdint>

namespace herald::actors {

/// One push of a message to a session, kept for traces.
struct send_record {
  int64_t seq = 0;
  int64_t message_id = 0;
  uint64_t session = 0;
  const char* transport = ""; ///< session_sink::transport(): a literal
  double at = 0;              ///< unix seconds
  bool resend = false;
};

/// A user's last pushes, for traces (docs/debugging.md). Written on every
/// push, read only by a trace: 256 records (12 KB) keep days of a usual
/// user's pushes, and a thousand busy users' logs within the cache, where
/// 1,024 of them went to memory on every push.
using send_log = bounded_log<send_record, 256>;

/// What a user actor leaves with its shard when it passivates, and starts
/// from when the shard wakes it: all it knows of its user that the
/// sessions (which stay with the shard) do not. What was in flight went to
/// the shard beside it (passivate_request), so the user is not read from
/// the database again. While the user is passive, the shard keeps it up to
/// date as it pushes (passive_user.hpp).
struct user_snapshot {
  int64_t user_id = 0;
  /// The newest position of the user's feed known.
  int64_t newest = 0;
  /// Sent and acked progress, already reported to the shard.
  int64_t sent_high = 0;
  int64_t acked_high = 0;
  /// Every session had everything of the feed up to here: what follows
  /// reaches the woken actor from the shard (what is in flight beside the
  /// snapshot, then live).
  int64_t complete_through = 0;
  /// The newest position pushed anywhere (what is above is a first push).
  int64_t first_push_high = 0;
  /// Preferences, quiet hours, and the hourly caps' counts so far.
  web_policy policy;
  send_log sends;
  size_t pushed = 0;
  size_t resent = 0;
  size_t suppressed = 0;
  /// When it passivated (on the actor clock), and after how long a quiet
  /// period: a user woken soon after waits longer the next time.
  std::chrono::steady_clock::time_point passivated_at;
  /// Every passivated user holds one: in 32 bits, these two keep the
  /// snapshot (with its shared_ptr's 16 bytes) in jemalloc's 192-byte
  /// class instead of the 224.
  std::chrono::duration<uint32_t, std::milli> passivate_delay{0};
  uint32_t passivations = 0;
};

} // namespace herald::actors
