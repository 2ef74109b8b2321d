#pragma once

#include "core/backoff.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <chrono>
#include <string>

namespace herald::actors {

struct channel_options {
  std::string database_url;
  /// How often due deliveries are looked for without a wake-up (held
  /// deliveries fall due by time alone).
  std::chrono::milliseconds poll_interval{1000};
  /// How long a claimed delivery is ours; after a crash it is retried once
  /// this runs out. Longer than a batch takes to send.
  std::chrono::milliseconds lease{std::chrono::minutes{5}};
  /// Deliveries claimed per transaction.
  size_t batch_size = 20;
  backoff_policy backoff;
};

/// Spawns the sender of one channel ("sms" or "mobile"; detached: it blocks
/// on the database and on providers). It claims due deliveries with SKIP
/// LOCKED, sends each through the app's provider within the provider's
/// rate limit, and records the outcome: sent, retried later with backoff,
/// or given up with the reason. Woken through the channel's group when an
/// expansion writes deliveries, and by a timer.
caf::actor spawn_channel_sender(caf::event_based_actor* parent,
                                std::string channel, channel_options options);

/// Spawns the actor registered as names::channels: it passes the channel
/// expander's wake-ups (new sms or mobile deliveries) on to the senders.
caf::actor spawn_channel_router(caf::event_based_actor* parent);

/// The local group a channel's senders join.
std::string channel_group(const std::string& channel);

} // namespace herald::actors
