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

#include <algorithm>
#include <chrono>

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
  /// When every channel's actors were last woken together.
  std::chrono::steady_clock::time_point all_woken;
  std::string last_error;
  static inline const char* name = "listener";
};

using listener_actor = caf::stateful_actor<listener_state>;

void wake(listener_actor* self, const listen_channel& channel) {
  auto& reg = self->system().registry();
  for (auto name : channel.wake)
    if (auto target = reg.get<wakeable_actor>(name))
      self->send(target, wake_atom_v);
}

void wake_all(listener_actor* self) {
  for (const auto& channel : self->state.options.channels)
    wake(self, channel);
}

std::string channel_names(const listener_options& options) {
  std::string out;
  for (const auto& channel : options.channels)
    out += (out.empty() ? "" : ", ") + channel.name;
  return out;
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
      logger->info("listening on {} (backend {}{})", channel_names(st.options),
                   st.conn->backend_pid(),
                   st.connects > 1 ? ", reconnected; catching up" : "");
      wake_all(self);
    }
    auto poll = std::chrono::duration_cast<std::chrono::milliseconds>(
      st.options.poll_interval);
    auto notified = st.conn->wait(poll);
    auto any =
      std::find(notified.begin(), notified.end(), true) != notified.end();
    if (any)
      ++st.notifications;
    else
      ++st.polls;
    // A notification wakes its channel's actors; every channel's are
    // woken at least once per poll interval, however busy the others (a
    // wait that timed out took the whole interval).
    auto now = std::chrono::steady_clock::now();
    if (now - st.all_woken >= st.options.poll_interval) {
      st.all_woken = now;
      wake_all(self);
    } else {
      for (size_t i = 0; i < notified.size(); ++i)
        if (notified[i])
          wake(self, st.options.channels[i]);
    }
    st.backoff = caf::timespan{0};
    self->send(self, tick_atom_v);
  } catch (const storage::error& e) {
    st.listening = false;
    st.last_error = e.what();
    st.backoff = st.backoff.count() == 0
                   ? st.options.min_backoff
                   : std::min(st.backoff * 2, st.options.max_backoff);
    logger->warn(
      "listener: {}; retrying in {} ms", e.what(),
      std::chrono::duration_cast<std::chrono::milliseconds>(st.backoff)
        .count());
    self->delayed_send(self, st.backoff, tick_atom_v);
  }
}

caf::behavior listener_behavior(listener_actor* self,
                                listener_options options) {
  auto& st = self->state;
  std::vector<std::string> names;
  for (const auto& channel : options.channels)
    names.push_back(channel.name);
  st.conn = std::make_unique<storage::notification_listener>(
    options.database_url, std::move(names), options.application_name);
  for (const auto& channel : options.channels)
    if (channel.ignore_senders)
      st.conn->ignore_senders(channel.name, channel.ignore_senders);
  st.options = std::move(options);
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) { listen_once(self); },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{
        {"kind", "listener"},
        {"channels", channel_names(st.options)},
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
