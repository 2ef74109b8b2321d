#define CAF_SUITE core.rate_limiter

#include "core/rate_limiter.hpp"

#include <caf/test/unit_test.hpp>

using namespace herald;
using namespace std::chrono_literals;

namespace {

const rate_limiter::clock::time_point t0{};

} // namespace

CAF_TEST(a burst passes and the next request waits for a refill) {
  rate_limiter limits{2.0, 3.0}; // 2 per second, bursts of 3
  for (int i = 0; i < 3; ++i)
    CAF_CHECK(limits.acquire("k", t0) == rate_limiter::clock::duration::zero());
  auto wait = limits.acquire("k", t0);
  // One token comes back every 500 ms.
  CAF_CHECK_GREATER(wait, 499ms);
  CAF_CHECK_LESS(wait, 501ms);
  CAF_CHECK(limits.acquire("k", t0 + 500ms) ==
            rate_limiter::clock::duration::zero());
  CAF_CHECK_GREATER(limits.acquire("k", t0 + 500ms), 0ms);
}

CAF_TEST(keys have buckets of their own) {
  rate_limiter limits{1.0, 1.0};
  CAF_CHECK(limits.acquire("a", t0) == rate_limiter::clock::duration::zero());
  CAF_CHECK_GREATER(limits.acquire("a", t0), 0ms);
  CAF_CHECK(limits.acquire("b", t0) == rate_limiter::clock::duration::zero());
}

CAF_TEST(refills stop at the burst size) {
  rate_limiter limits{10.0, 2.0};
  CAF_CHECK(limits.acquire("k", t0) == rate_limiter::clock::duration::zero());
  // An hour idle refills two tokens, not 36,000.
  auto later = t0 + 1h;
  CAF_CHECK(limits.acquire("k", later) ==
            rate_limiter::clock::duration::zero());
  CAF_CHECK(limits.acquire("k", later) ==
            rate_limiter::clock::duration::zero());
  CAF_CHECK_GREATER(limits.acquire("k", later), 0ms);
}
