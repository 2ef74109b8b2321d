#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

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

/// How long to wait for a token that expires at `expires_at` (unix
/// seconds): a day at most. A token may expire centuries from now, which
/// the steady clock cannot add; the wait is then set again for the rest.
inline std::chrono::seconds expiry_wait(int64_t expires_at, int64_t unix_now) {
  constexpr int64_t day = 24 * 60 * 60;
  return std::chrono::seconds{
    std::clamp<int64_t>(expires_at - unix_now, 0, day)};
}

} // namespace herald::net
