#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace herald::actors {

/// A notification channel and the actors a notification on it wakes: by
/// their registry names (wakeable_actor), looked up at every wake-up so
/// that a restarted one is found. By name, not through a group: typed
/// actors cannot join groups in CAF 0.17.
struct listen_channel {
  std::string name;
  std::vector<caf::atom_value> wake;
  /// Server processes whose notifications on it wake nobody (none when
  /// empty): this engine's expanders on the log's channel, whose commits
  /// reach the tailer in memory (local_writers).
  std::function<bool(int pid)> ignore_senders;
};

struct listener_options {
  std::string database_url;
  /// The channels to LISTEN on, all on one connection: each NOTIFY wakes
  /// every listening backend of the database, so an engine keeps one.
  std::vector<listen_channel> channels;
  /// What the connection calls itself (pg_stat_activity).
  std::string application_name = "herald-listener";
  /// The safety net: every channel's actors are woken at least this
  /// often, NOTIFY or not.
  caf::timespan poll_interval = std::chrono::seconds{1};
  /// Reconnect backoff doubles from the first value up to the second.
  caf::timespan min_backoff = std::chrono::milliseconds{100};
  caf::timespan max_backoff = std::chrono::seconds{5};
};

/// Spawns a listener (detached: it blocks waiting on its own connection).
/// It LISTENs on every channel of `options` (herald_outbox: the
/// expanders; herald_log: the tailer and the channel expander) and wakes
/// a channel's actors on every notification on it, and every channel's
/// after every (re)LISTEN (the catch-up for what was missed while not
/// listening) and at least every poll interval. NOTIFY is only ever a
/// wake-up.
caf::actor spawn_listener(caf::event_based_actor* parent,
                          listener_options options);

} // namespace herald::actors
