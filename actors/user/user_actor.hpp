#pragma once

#include "actors/type_ids.hpp"
#include "actors/user/messages.hpp"
#include "actors/user/user_shard_actor.hpp"

#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <memory>

namespace herald::actors {

struct user_options {
  /// Messages in flight (sent, not acked) per session before it waits.
  size_t max_unacked = 256;
  /// First resend after this long without an ack; doubles per attempt...
  caf::timespan ack_timeout = std::chrono::seconds{5};
  /// ...up to this.
  caf::timespan max_resend_backoff = std::chrono::seconds{60};
  /// The shard writes its users' sent and acked progress at most this
  /// often.
  caf::timespan flush_interval = std::chrono::milliseconds{200};
  /// A user actor with no session for this long stops.
  caf::timespan idle_timeout = std::chrono::seconds{60};
  /// A user actor with sessions and nothing of its own to do for this long
  /// (no read, no poll, no resend, no ack or session meanwhile) hands its
  /// state and what is in flight to its shard and stops (zero: never). The
  /// shard pushes the user's new messages and takes its acks itself, and
  /// starts the actor again, without a database read, when only the actor
  /// can go on. An idle connection then costs its session and a few hundred
  /// bytes in the shard, not a whole actor.
  caf::timespan passivate_after = std::chrono::milliseconds{250};
  /// Live sessions per user; more are closed with too_many_sessions.
  size_t max_sessions = 16;
  /// Messages kept in memory for sessions that are behind, at most so
  /// many and so many bytes of text; beyond, they are read again.
  size_t cache_limit = 1024;
  size_t cache_bytes = 4 * 1024 * 1024;
  /// Deliveries per database read, and per long-poll answer; a read also
  /// stops after so many bytes of text (one message at least), so that a
  /// backlog of large messages is held a few at a time.
  size_t load_batch = 256;
  size_t load_bytes = 1024 * 1024;
  size_t poll_batch = 100;
};

/// The typed interface of a user actor: only its shard talks to it.
using user_actor = caf::typed_actor<
  /// A session of the user (again, at its client's position, after a
  /// restart).
  caf::reacts_to<attach_session>,
  /// A session closed.
  caf::reacts_to<detach_session>,
  /// A session's client acknowledged up to a seq.
  caf::reacts_to<client_ack>,
  /// The user read a message: persisted through the inbox.
  caf::reacts_to<client_read>,
  /// The user's next feed items, in position order.
  caf::reacts_to<feed_items>,
  /// Its own timers: resends and retries, idleness, passivation.
  caf::reacts_to<tick_atom>, caf::reacts_to<idle_atom>,
  caf::reacts_to<passivate_atom>,
  /// Describes the actor and its sessions (JSON).
  caf::replies_to<inspect_atom>::with<std::string>,
  /// Where a message was pushed, and when (a JSON array).
  caf::replies_to<trace_atom, int64_t>::with<std::string>,
  /// Fails the actor (fault injection).
  caf::reacts_to<crash_atom>>;

/// Spawns the actor of one user (see ARCHITECTURE.md, "user actor"): holds
/// the user's live sessions, pushes each delivery to every session in seq
/// order with an unacked window per session, resends after the ack timeout
/// with backoff, persists sent and acked progress in batches, resumes
/// sessions from the database, passivates into its shard after
/// passivate_after with nothing of its own to do, and stops after
/// idle_timeout
/// without sessions. Talks to the database only through the inbox workers
/// (names::inbox). Answers inspect_atom; fails on crash_atom. With a
/// `snapshot` (from an earlier passivation) it starts from that instead of
/// reading the user, and with what its shard pushed since (`pushed`, not
/// yet acknowledged) in its feed.
user_actor
spawn_user_actor(user_shard_actor::pointer parent, user_key key,
                 user_options options,
                 std::shared_ptr<user_snapshot> snapshot = nullptr,
                 std::shared_ptr<const pushed_deliveries> pushed = nullptr);

} // namespace herald::actors
