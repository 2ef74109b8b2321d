#pragma once

// The typed interface of a user shard (shard_name(i), spawn_user_shard):
// what sessions, the tailer, user actors and the debug routes send it.

#include "actors/fwd.hpp"
#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

namespace herald::actors {

using user_shard_actor = caf::typed_actor<
  /// A session of the user opened; starts the user's actor if needed.
  caf::reacts_to<attach_session>,
  /// A session closed.
  caf::reacts_to<detach_session>,
  /// A session's client acknowledged up to a seq.
  caf::reacts_to<client_ack>,
  /// The user read a message; starts the user's actor if needed.
  caf::reacts_to<client_read>,
  /// From a user actor: route these streams to it. Answers the position
  /// after which everything reaches it live.
  caf::replies_to<subscribe>::with<int64_t>,
  /// From the tailer: the next log batch, to fan out to the users here.
  caf::reacts_to<tailed>,
  /// Fans out the batches tailed since the last turn (the shard's own cue).
  caf::reacts_to<turn_atom>,
  /// From a user actor: its progress, for the next batched cursor write.
  caf::reacts_to<user_progress>,
  /// From a user actor with nothing in flight: take my state, I stop.
  caf::replies_to<passivate_request>::with<bool>,
  /// Writes the buffered cursors (the shard's own timer).
  caf::reacts_to<flush_atom>,
  /// Lets passivated users without sessions go after the idle timeout
  /// (the shard's own timer).
  caf::reacts_to<idle_atom>,
  /// Wakes passive users whose clients did not acknowledge what the shard
  /// pushed them within the ack timeout (the shard's own timer).
  caf::reacts_to<tick_atom>,
  /// Fails the shard (fault injection).
  caf::reacts_to<crash_atom>,
  /// Fails the user's actor (fault injection); the shard restarts it.
  caf::reacts_to<crash_atom, user_key>,
  /// Describes the shard and its first users for the debug tree (JSON).
  caf::replies_to<inspect_atom>::with<std::string>,
  /// The user's actor describes itself, or {"active": false} (JSON).
  caf::replies_to<inspect_atom, user_key>::with<std::string>,
  /// Where the user's actor pushed a message (a JSON array).
  caf::replies_to<trace_atom, user_key, int64_t>::with<std::string>>;

} // namespace herald::actors
