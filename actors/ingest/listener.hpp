#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace herald::actors {

struct listener_options {
  std::string database_url;
  /// The notification channel to LISTEN on.
  std::string channel = "herald_outbox";
  /// The registry names of the actors to wake (wakeable_actor), looked up
  /// at every wake-up so that a restarted one is found. By name, not
  /// through a group: typed actors cannot join groups in CAF 0.17.
  std::vector<caf::atom_value> wake;
  /// What the connection calls itself (pg_stat_activity).
  std::string application_name = "herald-listener";
  /// The safety net: `wake` is woken at least this often, NOTIFY or not.
  caf::timespan poll_interval = std::chrono::seconds{1};
  /// Reconnect backoff doubles from the first value up to the second.
  caf::timespan min_backoff = std::chrono::milliseconds{100};
  caf::timespan max_backoff = std::chrono::seconds{5};
};

/// Spawns a listener (detached: it blocks waiting on its own connection).
/// It LISTENs on `channel` (herald_outbox: the expanders; herald_log: the
/// tailer and the channel expander) and wakes the actors `wake` names: on
/// every notification, after every (re)LISTEN (the catch-up for what was
/// missed while not listening) and at least every poll interval. NOTIFY is
/// only ever a wake-up.
caf::actor spawn_listener(caf::event_based_actor* parent,
                          listener_options options);

} // namespace herald::actors
