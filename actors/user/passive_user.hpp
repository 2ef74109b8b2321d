#pragma once

// What a user shard does for a passive user itself, without starting its
// actor (docs/design.md, "A passive user's pushes are made by its shard"):
// push new messages to its sessions, take their acks, and say when only the
// actor can go on. Pure bookkeeping, driven by the shard.

#include "actors/user/messages.hpp"
#include "actors/user/pushed_delivery.hpp"
#include "actors/user/user_snapshot.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald::actors {

/// A session of a user as its shard keeps it, with or without the user's
/// actor: what it reattaches a restarted or woken actor with.
struct attached {
  uint64_t id = 0;
  weak_session_ptr session;
  int64_t last_seq = 0;
  bool poll = false;
  bool immediate = false;
};

/// A user's sessions, usually one: a vector costs an idle connection less
/// than a map's node and header.
using attached_sessions = std::vector<attached>;

/// A passive user as its shard holds it: the snapshot its actor left, its
/// sessions, and what the shard pushed to them since, or holds for the
/// next session (null: nothing).
struct passive_user {
  const user_key& key;
  user_snapshot& snapshot;
  attached_sessions& sessions;
  std::unique_ptr<pushed_deliveries>& pushed;
};

using steady_time = std::chrono::steady_clock::time_point;

/// When the shard pushes: on the actor clock (what the acks' deadlines
/// count from) and in unix seconds (what the send log records). Read once
/// per batch, not once per user.
struct push_time {
  steady_time steady;
  double unix = 0;
};

/// Pushes a passive user's new feed `items` to every one of its sessions,
/// as its actor would: the snapshot's policy decides (and counts for the
/// caps), and the snapshot records what the actor would (newest, sent,
/// pushes, the send log). What is pushed waits in `pushed` for the
/// sessions' acks; without sessions, up to a window of it waits there for
/// the next one. False, with nothing changed, when only the actor can take
/// the items: a control entry, a long-poll session, or more in flight than
/// `max_unacked` allows.
bool push_passively(passive_user user, const std::vector<feed_item>& items,
                    push_time now, size_t max_unacked, spdlog::logger& logger);

enum class passive_attach {
  /// Only the actor can place the session: it lacks what must be read
  /// from the feed, or the user has all the sessions it may.
  wake,
  /// Welcomed, and sent what it lacks.
  attached,
  /// The same, and the user's acked progress moved: report it.
  advanced,
};

/// A new stream session of a passive user whose client has everything up
/// to `last_seq`: the shard welcomes it where the actor would and pushes it
/// what it lacks from `pushed`, when that is all it lacks (a client that
/// reconnects after a moment).
passive_attach attach_passively(passive_user user, const session_ptr& session,
                                int64_t last_seq, push_time now,
                                size_t max_sessions, spdlog::logger& logger);

enum class passive_ack {
  /// Nothing moved: a duplicate, or a session that is gone.
  unchanged,
  /// The user's acked progress moved: report it.
  advanced,
  /// Past what the session was sent: only the actor answers that (with an
  /// error frame).
  wake,
};

/// The client of session `session_id` has everything up to `seq` (the
/// session counted only what it was sent).
passive_ack ack_passively(passive_user user, uint64_t session_id, int64_t seq);

/// Drops from `pushed` what every session has acknowledged (nothing
/// without sessions): the snapshot's complete_through moves past it, so a
/// woken actor reads it from the database if a session needs it again.
void settle_pushed(passive_user user);

/// Whether a session waits for an ack of the oldest push longer than
/// `timeout` at `now`: the actor must take over and resend.
bool ack_overdue(const passive_user& user, steady_time now,
                 std::chrono::nanoseconds timeout);

} // namespace herald::actors
