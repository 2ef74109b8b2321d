#pragma once

#include "actors/user/inbox_actor.hpp"

#include <caf/event_based_actor.hpp>

#include <string>

namespace herald::actors {

/// Spawns the inbox (inbox_actor), registered as names::inbox: the user
/// actors' and shards' reads and writes. A front actor batches the loads and
/// feed reads of many users into one statement each and hands them to `workers`
/// detached actors, each with its own database connection, one batch per worker
/// at a time: what arrives meanwhile goes out as the next, bigger batch.
/// Blocking calls never run on the scheduler's workers.
inbox_actor spawn_inbox_workers(caf::event_based_actor* parent,
                                std::string database_url, size_t workers);

} // namespace herald::actors
