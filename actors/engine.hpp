#pragma once

#include "actors/channel/channel_expander.hpp"
#include "actors/channel/channel_sender.hpp"
#include "actors/health_monitor.hpp"
#include "actors/ingest/expander.hpp"
#include "actors/ingest/listener.hpp"
#include "actors/stream/tailer.hpp"
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
  /// Database URL and shards are filled in from the options above.
  tailer_options tailer;
  channel_expander_options channel_expander;
  user_options users;
  size_t user_shards = 4;
  size_t inbox_workers = 4;
  channel_options channels;
  size_t channel_senders = 1; ///< per channel; 0: no sms or mobile

  caf::timespan app_refresh = std::chrono::seconds{2};
  supervisor_options supervision;
};

/// Spawns the root supervisor and, under it, the engine's actor tree (see
/// ARCHITECTURE.md): health and apps, templates (registry and template
/// actors), ingest (the outbox and log listeners, expanders, the tailer
/// and the channel expander), users (inbox workers, shards with their
/// stream index and user actors) and channels (router, sms and mobile
/// senders). `apps` is kept filled for the
/// sessions' authentication. An exit message shuts it all down.
caf::actor spawn_engine(caf::actor_system& sys, engine_options options,
                        std::shared_ptr<readiness_board> board,
                        std::shared_ptr<app_directory> apps);

} // namespace herald::actors
