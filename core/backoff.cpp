#include "core/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace herald {

std::chrono::milliseconds backoff_policy::delay(
  int attempt, double unit,
  std::optional<std::chrono::milliseconds> retry_after) const {
  if (retry_after)
    return std::clamp(*retry_after, std::chrono::milliseconds{0}, max);
  // 2^(attempt-1) steps of base, computed in double so that a large attempt
  // count saturates at max instead of overflowing.
  auto exponent = std::clamp(attempt - 1, 0, 62);
  auto step =
    std::min(static_cast<double>(base.count()) * std::pow(2.0, exponent),
             static_cast<double>(max.count()));
  auto jittered = step * (0.5 + 0.5 * std::clamp(unit, 0.0, 1.0));
  return std::chrono::milliseconds{static_cast<int64_t>(jittered)};
}

} // namespace herald
