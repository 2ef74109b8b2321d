#pragma once

#include <chrono>

namespace herald::net {

/// `at` rounded up to a whole second. Keepalive timers (WebSocket pings,
/// SSE heartbeats) are set to such deadlines: the timers of thousands of
/// idle sessions then expire together, in one wake-up of an I/O thread,
/// and their answers come back together too. A wake-up per session and
/// interval made idle connections cost a tenth of a core at 19,000
/// (docs/performance.md).
inline std::chrono::steady_clock::time_point
keepalive_deadline(std::chrono::steady_clock::time_point at) {
  return std::chrono::steady_clock::time_point{
    std::chrono::ceil<std::chrono::seconds>(at.time_since_epoch())};
}

} // namespace herald::net
