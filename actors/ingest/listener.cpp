#include "actors/ingest/listener.hpp"

#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "actors/wakeable_actor.hpp"
#include "core/log.hpp"
#include "storage/error.hpp"
#include "storage/notification_listener.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace herald::actors {

namespace {

struct listener_state {
  listener_options options;
  std::unique_ptr<storage::notification_listener> conn;
  caf::timespan backoff{0};
  bool listening = false;
  size_t connects = 0;
  size_t notifications = 0;
  size_t polls = 0;
  std::string last_error;
  static inline const char* name = "listener";
};

using listener_actor = caf::stateful_actor<listener_state>;

void wake_all(listener_actor* self) {
  auto& reg = self->system().registry();
  for (auto name : self->state.options.wake)
    if (auto target = reg.get<wakeable_actor>(name))
      self->send(target, wake_atom_v);
}

// One round: (re)connect if needed, wait for notifications up to the poll
// interval, wake the actors it serves, go again. Blocking is fine here: this
// actor is detached and owns its thread.
void listen_once(listener_actor* self) {
  auto& st = self->state;
  auto logger = log::get("ingest");
  try {
    if (st.conn->ensure_listening()) {
      ++st.connects;
      st.listening = true;
      logger->info("listening on {} (backend {}{})", st.options.channel,
                   st.conn->backend_pid(),
                   st.connects > 1 ? ", reconnected; catching up" : "");
      wake_all(self);
    }
    auto poll = std::chrono::duration_cast<std::chrono::milliseconds>(
      st.options.poll_interval);
    if (st.conn->wait(poll))
      ++st.notifications;
    else
      ++st.polls;
    wake_all(self);
    st.backoff = caf::timespan{0};
    self->send(self, tick_atom_v);
  } catch (const storage::error& e) {
    st.listening = false;
    st.last_error = e.what();
    st.backoff = st.backoff.count() == 0
                   ? st.options.min_backoff
                   : std::min(st.backoff * 2, st.options.max_backoff);
    logger->warn(
      "outbox listener: {}; retrying in {} ms", e.what(),
      std::chrono::duration_cast<std::chrono::milliseconds>(st.backoff)
        .count());
    self->delayed_send(self, st.backoff, tick_atom_v);
  }
}

caf::behavior listener_behavior(listener_actor* self,
                                listener_options options) {
  auto& st = self->state;
  st.conn = std::make_unique<storage::notification_listener>(
    options.database_url, options.channel, options.application_name);
  st.options = std::move(options);
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) { listen_once(self); },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{
        {"kind", "listener"},
        {"channel", st.options.channel},
        {"id", self->id()},
        {"mailbox", self->mailbox().size()},
        {"listening", st.listening},
        {"backend_pid", st.conn->backend_pid()},
        {"reconnects", st.connects > 0 ? st.connects - 1 : 0},
        {"notifications", st.notifications},
        {"polls", st.polls},
        {"last_error", st.last_error}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_listener(caf::event_based_actor* parent,
                          listener_options options) {
  return parent->spawn<caf::detached>(listener_behavior, std::move(options));
}

} // namespace herald::actors
