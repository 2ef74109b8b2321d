#pragma once

#include "actors/user/user_actor.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

namespace herald::actors {

/// Spawns user shard `index`, registered as shard_name(index). It starts
/// user actors on demand, routes session and delivery messages to them,
/// and supervises them one-for-one: a user actor that fails is restarted at
/// once (its state is rebuilt from the database) and every live session is
/// attached again at the position its client acknowledged, so the sessions
/// keep receiving. A user actor that stops because it was idle is
/// forgotten. Deliveries for users without an actor are dropped here: they
/// are in the database for when the user connects.
caf::actor spawn_user_shard(caf::event_based_actor* parent, size_t index,
                            user_options options);

/// Spawns the router registered as names::users: it splits the
/// deliveries_committed of the expanders by shard.
caf::actor spawn_user_router(caf::event_based_actor* parent, size_t shards);

} // namespace herald::actors
