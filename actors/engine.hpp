#pragma once

#include "actors/health_monitor.hpp"
#include "actors/ingest/expander.hpp"
#include "actors/ingest/listener.hpp"
#include "actors/supervisor.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace herald::actors {

struct engine_options {
  health_monitor_options health;
  listener_options listener;
  expander_options expander;
  size_t expanders = 1;
  supervisor_options supervision;
};

/// Spawns the root supervisor and, under it, the engine's actor tree (see
/// ARCHITECTURE.md): health, templates (registry and template actors) and
/// ingest (listener and expanders). An exit message shuts it all down.
caf::actor spawn_engine(caf::actor_system& sys, engine_options options,
                        std::shared_ptr<readiness_board> board);

} // namespace herald::actors
