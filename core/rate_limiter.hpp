#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald {

/// Token buckets by key (an API key's hash): each key may make `burst`
/// requests at once and `per_second` on average. Thread-safe; the clock is
/// a parameter so that tests control it.
class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  rate_limiter(double per_second, double burst);

  /// Takes one request's token for `key` at `now`. Returns zero when the
  /// request may go ahead, else how long until it may (for Retry-After).
  clock::duration acquire(const std::string& key, clock::time_point now);

private:
  struct bucket {
    double tokens;
    clock::time_point updated;
  };

  void forget_idle(clock::time_point now);

  double per_second_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
  clock::time_point last_sweep_{};
};

} // namespace herald
