#pragma once

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <string>

namespace herald::actors {

/// Spawns a pool of `workers` detached actors, each with its own database
/// connection, that serve the user actors' and shards' reads and writes
/// (load_user -> storage::inbox_user; load_feed -> std::vector<delivery>;
/// persist_cursors; persist_read -> bool) round-robin, and registers it as
/// names::inbox. Blocking calls never run on the scheduler's workers.
caf::actor spawn_inbox_workers(caf::event_based_actor* parent,
                               std::string database_url, size_t workers);

} // namespace herald::actors
