#pragma once

#include "core/delivery.hpp"

#include <chrono>
#include <vector>

namespace herald::actors {

/// A delivery a shard pushed to a passive user's sessions itself, and when
/// (on the actor clock). The user's actor, woken later, takes it over: into
/// its feed, and into each session's unacked window with the resend
/// deadline it would have set itself.
struct pushed_delivery {
  delivery d;
  std::chrono::steady_clock::time_point at;
};

/// In position order.
using pushed_deliveries = std::vector<pushed_delivery>;

} // namespace herald::actors
