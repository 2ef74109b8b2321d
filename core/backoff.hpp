#pragma once

#include <chrono>
#include <optional>

namespace herald {

/// When to try a failed provider request again: exponential backoff with
/// jitter, or what the provider asked for in Retry-After.
struct backoff_policy {
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds max{std::chrono::minutes{10}};

  /// The wait after `attempt` (1 for the first) failed. `unit` in [0, 1)
  /// picks the jitter: the wait is between half and all of the exponential
  /// step, so that clients failing together do not retry together. A
  /// provider's `retry_after` wins, capped at `max`.
  std::chrono::milliseconds
  delay(int attempt, double unit,
        std::optional<std::chrono::milliseconds> retry_after = {}) const;
};

} // namespace herald
