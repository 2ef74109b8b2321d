#pragma once

#include "actors/channel/channel_sender.hpp"
#include "actors/health_monitor.hpp"
#include "actors/ingest/expander.hpp"
#include "actors/ingest/listener.hpp"
#include "actors/supervisor.hpp"
#include "actors/user/user_actor.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace herald::actors {

struct engine_options {
  health_monitor_options health;
  listener_options listener;
  expander_options expander;
  size_t expanders = 1;
  user_options users;
  size_t user_shards = 4;
  size_t inbox_workers = 2;
  channel_options channels;
  size_t channel_senders = 1; ///< per channel; 0: no sms or mobile

  caf::timespan app_refresh = std::chrono::seconds{2};
  supervisor_options supervision;
};

/// Spawns the root supervisor and, under it, the engine's actor tree (see
/// ARCHITECTURE.md): health and apps, templates (registry and template
/// actors), ingest (listener and expanders) and users (inbox workers,
/// router, shards and their user actors) and channels (router, sms and
/// mobile senders). `apps` is kept filled for the
/// sessions' authentication. An exit message shuts it all down.
caf::actor spawn_engine(caf::actor_system& sys, engine_options options,
                        std::shared_ptr<readiness_board> board,
                        std::shared_ptr<app_directory> apps);

} // namespace herald::actors
