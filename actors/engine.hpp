#pragma once

#include "actors/health_monitor.hpp"
#include "actors/supervisor.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace herald::actors {

struct engine_options {
  health_monitor_options health;
  supervisor_options root_supervision;
};

/// Spawns the root supervisor and, under it, the engine's actor tree (see
/// ARCHITECTURE.md). Sending it an exit message shuts the tree down.
caf::actor spawn_engine(caf::actor_system& sys, engine_options options,
                        std::shared_ptr<readiness_board> board);

} // namespace herald::actors
