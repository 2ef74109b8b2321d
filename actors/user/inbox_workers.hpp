#pragma once

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <string>

namespace herald::actors {

/// Spawns the inbox, registered as names::inbox: the user actors' and
/// shards' reads and writes (load_user -> storage::inbox_user; load_feed ->
/// std::vector<delivery>; load_cap_counts; persist_cursors; persist_read ->
/// bool). A front actor batches the loads and feed reads of many users
/// into one statement each and hands them to `workers` detached actors,
/// each with its own database connection, one batch per worker at a time:
/// what arrives meanwhile goes out as the next, bigger batch. Blocking
/// calls never run on the scheduler's workers.
caf::actor spawn_inbox_workers(caf::event_based_actor* parent,
                               std::string database_url, size_t workers);

} // namespace herald::actors
