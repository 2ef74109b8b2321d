#define CAF_SUITE core.backoff

#include "core/backoff.hpp"

#include <caf/test/unit_test.hpp>

using namespace herald;
using namespace std::chrono_literals;

CAF_TEST(waits double per attempt and jitter stays within half a step) {
  backoff_policy policy{1000ms, 60000ms};
  CAF_CHECK_EQUAL(policy.delay(1, 1.0).count(), 1000);
  CAF_CHECK_EQUAL(policy.delay(2, 1.0).count(), 2000);
  CAF_CHECK_EQUAL(policy.delay(3, 1.0).count(), 4000);
  CAF_CHECK_EQUAL(policy.delay(3, 0.0).count(), 2000);
  CAF_CHECK_EQUAL(policy.delay(3, 0.5).count(), 3000);
}

CAF_TEST(waits stop growing at the maximum) {
  backoff_policy policy{1000ms, 60000ms};
  CAF_CHECK_EQUAL(policy.delay(7, 1.0).count(), 60000);
  CAF_CHECK_EQUAL(policy.delay(1000, 1.0).count(), 60000);
  CAF_CHECK_EQUAL(policy.delay(1000, 0.0).count(), 30000);
}

CAF_TEST(the retry after of a provider wins but is capped) {
  backoff_policy policy{1000ms, 60000ms};
  CAF_CHECK_EQUAL(policy.delay(1, 0.3, 7000ms).count(), 7000);
  CAF_CHECK_EQUAL(policy.delay(5, 0.3, 0ms).count(), 0);
  CAF_CHECK_EQUAL(policy.delay(1, 0.3, 3600000ms).count(), 60000);
}
