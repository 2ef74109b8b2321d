#pragma once

#include "actors/channel/channel_expander_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <string>

namespace herald::actors {

struct channel_expander_options {
  std::string database_url;
  /// Messages per transaction.
  size_t batch_size = 50;
  /// Pause after a failed batch before the next attempt.
  caf::timespan retry_delay = std::chrono::seconds{1};
};

/// Spawns the channel expander (detached: it blocks on the database),
/// registered as names::channel_expander. Woken by this engine's expanders
/// and by the log listener, it writes the sms and mobile deliveries of
/// messages already in the log, one row per recipient and channel, in
/// transactions of their own: a large audience never holds the web path
/// back. Then it wakes the channel senders (names::channels).
channel_expander_actor spawn_channel_expander(caf::event_based_actor* parent,
                                              channel_expander_options options);

} // namespace herald::actors
