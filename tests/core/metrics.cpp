#define CAF_SUITE core.metrics

#include "core/metrics.hpp"
#include "core/handoff_scope.hpp"

#include <caf/test/unit_test.hpp>

#include <cmath>
#include <string>

using namespace herald;

namespace {

// A sample of the rendered metrics (0 when it is not there). The registry
// is the process's: tests compare before and after.
double value_of(const std::string& series) {
  auto text = metrics::render({});
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos)
    return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

const std::string sent = R"(herald_deliveries_total{event="sent"})";
const std::string within_5ms =
  R"(herald_commit_to_send_seconds_bucket{le="0.005"})";
const std::string within_1s = R"(herald_commit_to_send_seconds_bucket{le="1"})";
const std::string observed = "herald_commit_to_send_seconds_count";
const std::string total_seconds = "herald_commit_to_send_seconds_sum";

} // namespace

CAF_TEST(first pushes are counted at once outside a handoff scope) {
  auto sent_before = value_of(sent);
  auto fast_before = value_of(within_5ms);
  metrics::delivery_sent(0.003);
  metrics::delivery_sent(-1); // commit time not known: counted, not timed
  CAF_CHECK_EQUAL(value_of(sent), sent_before + 2);
  CAF_CHECK_EQUAL(value_of(within_5ms), fast_before + 1);
}

CAF_TEST(first pushes in a handoff scope are added when it ends) {
  auto sent_before = value_of(sent);
  auto fast_before = value_of(within_5ms);
  auto slow_before = value_of(within_1s);
  auto observed_before = value_of(observed);
  auto sum_before = value_of(total_seconds);
  {
    handoff_scope outer;
    {
      handoff_scope inner;
      metrics::delivery_sent(0.001); // on a bucket's bound: in that bucket
      metrics::delivery_sent(0.004);
    }
    metrics::delivery_sent(0.5);
    metrics::delivery_sent(-1);
    metrics::delivery_sent(30); // past the last bound: +Inf only
    CAF_CHECK_EQUAL(value_of(sent), sent_before); // not yet
  }
  CAF_CHECK_EQUAL(value_of(sent), sent_before + 5);
  CAF_CHECK_EQUAL(value_of(observed), observed_before + 4);
  CAF_CHECK_EQUAL(value_of(within_5ms), fast_before + 2);
  CAF_CHECK_EQUAL(value_of(within_1s), slow_before + 3);
  CAF_CHECK_LESS(std::abs(value_of(total_seconds) - sum_before - 30.505), 1e-9);
  // The next scope starts from nothing.
  {
    handoff_scope again;
    metrics::delivery_sent(0.002);
  }
  CAF_CHECK_EQUAL(value_of(sent), sent_before + 6);
  CAF_CHECK_EQUAL(value_of(within_5ms), fast_before + 3);
}
