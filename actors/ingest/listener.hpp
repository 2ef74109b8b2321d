#pragma once

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <string>

namespace herald::actors {

struct listener_options {
  std::string database_url;
  /// The safety net: expanders are woken at least this often, NOTIFY or not.
  caf::timespan poll_interval = std::chrono::seconds{1};
  /// Reconnect backoff doubles from the first value up to the second.
  caf::timespan min_backoff = std::chrono::milliseconds{100};
  caf::timespan max_backoff = std::chrono::seconds{5};
};

/// Spawns the outbox listener (detached: it blocks waiting on its own
/// connection). It LISTENs on herald_outbox and wakes the expanders through
/// the outbox group: on every notification, after every (re)LISTEN (the
/// catch-up for what was missed while not listening) and at least every
/// poll interval. NOTIFY is only ever a wake-up. The connection carries
/// application_name "herald-listener".
caf::actor spawn_listener(caf::event_based_actor* parent,
                          listener_options options);

} // namespace herald::actors
