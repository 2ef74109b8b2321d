#pragma once

#include "core/fwd.hpp"
#include "storage/migrations.hpp"
#include "storage/node_registry.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include <memory>
#include <string>
#include <vector>

namespace herald::actors {

struct health_monitor_options {
  std::string database_url;
  std::vector<storage::migration> migrations;
  storage::node_info node;
  caf::timespan interval = std::chrono::seconds{1};
};

/// Spawns, as a detached actor (it blocks on the database), the monitor that
/// checks every `interval` that the database is reachable and migrated,
/// publishes the answer on `board` for /readyz, and keeps this node's row in
/// herald.nodes fresh.
caf::actor spawn_health_monitor(caf::event_based_actor* parent,
                                health_monitor_options options,
                                std::shared_ptr<readiness_board> board);

} // namespace herald::actors
