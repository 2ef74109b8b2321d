#include "core/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace herald {

rate_limiter::rate_limiter(double per_second, double burst)
  : per_second_(std::max(per_second, 1e-6)), burst_(std::max(burst, 1.0)) {}

rate_limiter::clock::duration rate_limiter::acquire(const std::string& key,
                                                    clock::time_point now) {
  std::lock_guard<std::mutex> guard{mutex_};
  forget_idle(now);
  auto [it, fresh] = buckets_.try_emplace(key, bucket{burst_, now});
  auto& b = it->second;
  if (!fresh && now > b.updated) {
    std::chrono::duration<double> elapsed = now - b.updated;
    b.tokens = std::min(burst_, b.tokens + elapsed.count() * per_second_);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return clock::duration::zero();
  }
  std::chrono::duration<double> wait{(1.0 - b.tokens) / per_second_};
  return std::chrono::duration_cast<clock::duration>(wait) + clock::duration{1};
}

void rate_limiter::forget_idle(clock::time_point now) {
  // A bucket idle long enough to be full again is the same as no bucket:
  // dropping those keeps the map as small as the set of busy keys.
  std::chrono::duration<double> refill{burst_ / per_second_};
  if (now - last_sweep_ < std::chrono::seconds{60})
    return;
  last_sweep_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (now - it->second.updated > refill)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

} // namespace herald
