#include "actors/engine.hpp"

#include "actors/app_refresher.hpp"
#include "actors/messages.hpp"
#include "actors/template/template_registry.hpp"
#include "actors/user/inbox_workers.hpp"
#include "actors/user/user_shard.hpp"

namespace herald::actors {

caf::actor spawn_engine(caf::actor_system& sys, engine_options options,
                        std::shared_ptr<readiness_board> board,
                        std::shared_ptr<app_directory> apps) {
  using caf::event_based_actor;
  std::vector<child_spec> templates{
    {"registry",
     [](event_based_actor* parent) { return spawn_template_registry(parent); },
     restart_policy::permanent},
  };
  auto url = options.health.database_url;
  // One listening connection for every channel (listener.hpp says why).
  // Without expanders the engine only delivers: it tails what the other
  // engines on the database expand, and needs no outbox notifications.
  auto listener = options.listener;
  listener.channels = {{"herald_log", {names::tailer}, {}},
                       {"herald_channels", {names::channel_expander}, {}}};
  // This engine's expansions reach its tailer in memory: their log
  // notifications are not wake-ups here.
  auto writers = std::make_shared<local_writers>(options.expanders);
  listener.channels[0].ignore_senders = [writers](int pid) {
    return writers->contains(pid);
  };
  auto expander = options.expander;
  expander.writers = writers;
  if (options.expanders > 0) {
    listen_channel outbox{"herald_outbox", {}, {}};
    for (size_t i = 1; i <= options.expanders; ++i)
      outbox.wake.push_back(expander_name(i));
    listener.channels.push_back(std::move(outbox));
  }
  auto tailer = options.tailer;
  tailer.database_url = url;
  tailer.shards = std::max<size_t>(1, options.user_shards);
  auto channel_expander = options.channel_expander;
  channel_expander.database_url = url;
  // Shared by the tailer and the shards, and kept across their restarts.
  auto tail = std::make_shared<tail_cursor>();
  std::vector<child_spec> ingest{
    {"listener",
     [opts = listener](event_based_actor* parent) {
       return spawn_listener(parent, opts);
     },
     restart_policy::permanent},
    {"tailer",
     [opts = tailer, tail](event_based_actor* parent) {
       return caf::actor_cast<caf::actor>(spawn_tailer(parent, opts, tail));
     },
     restart_policy::permanent},
    {"channel-expander",
     [opts = channel_expander](event_based_actor* parent) {
       return caf::actor_cast<caf::actor>(spawn_channel_expander(parent, opts));
     },
     restart_policy::permanent},
  };
  for (size_t i = 1; i <= options.expanders; ++i)
    ingest.push_back({"expander-" + std::to_string(i),
                      [i, opts = expander](event_based_actor* parent) {
                        return caf::actor_cast<caf::actor>(
                          spawn_expander(parent, i, opts));
                      },
                      restart_policy::permanent});
  std::vector<child_spec> users{
    {"inbox",
     [url, n = options.inbox_workers](event_based_actor* parent) {
       return caf::actor_cast<caf::actor>(spawn_inbox_workers(parent, url, n));
     },
     restart_policy::permanent},
  };
  for (size_t i = 0; i < std::max<size_t>(1, options.user_shards); ++i)
    users.push_back(
      {"shard-" + std::to_string(i),
       [i, opts = options.users, tail](event_based_actor* parent) {
         return caf::actor_cast<caf::actor>(
           spawn_user_shard(parent, i, opts, tail));
       },
       restart_policy::permanent});
  std::vector<child_spec> channels{
    {"router",
     [](event_based_actor* parent) { return spawn_channel_router(parent); },
     restart_policy::permanent},
  };
  for (const char* channel : {"sms", "mobile"})
    for (size_t i = 1; i <= options.channel_senders; ++i)
      channels.push_back(
        {std::string{channel} + "-" + std::to_string(i),
         [channel, opts = options.channels](event_based_actor* parent) {
           return spawn_channel_sender(parent, channel, opts);
         },
         restart_policy::permanent});
  std::vector<child_spec> root{
    {"health",
     [health = options.health, board](event_based_actor* parent) {
       return spawn_health_monitor(parent, health, board);
     },
     restart_policy::permanent},
    {"apps",
     [url, every = options.app_refresh, apps](event_based_actor* parent) {
       return spawn_app_refresher(parent, url, every, apps);
     },
     restart_policy::permanent},
    supervisor_child("templates", options.supervision, std::move(templates)),
    supervisor_child("users", options.supervision, std::move(users)),
    supervisor_child("channels", options.supervision, std::move(channels)),
    supervisor_child("ingest", options.supervision, std::move(ingest)),
  };
  return sys.spawn(supervisor, std::string{"root"}, options.supervision,
                   std::move(root));
}

} // namespace herald::actors
