#pragma once

#include "actors/stream/tail_cursor.hpp"
#include "actors/user/user_actor.hpp"
#include "actors/user/user_shard_actor.hpp"

#include <caf/event_based_actor.hpp>

#include <memory>

namespace herald::actors {

/// Spawns user shard `index`, registered as shard_name(index). It starts
/// user actors on demand and routes session messages to them; it holds the
/// stream index of its users and fans every tailed log batch out to them
/// in memory (entries of streams nobody here reads cost nothing more); it
/// writes the cursors of all its users in one statement per flush; and it
/// supervises its user actors one-for-one: one that fails is restarted at
/// once (its state is rebuilt from the database) and every live session is
/// attached again at the position its client stated, so the sessions keep
/// receiving. A user actor that stops because it was idle is forgotten.
user_shard_actor spawn_user_shard(caf::event_based_actor* parent, size_t index,
                                  user_options options,
                                  std::shared_ptr<tail_cursor> tail);

} // namespace herald::actors
