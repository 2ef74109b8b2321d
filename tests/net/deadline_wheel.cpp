#define CAF_SUITE net.deadline_wheel

#include "net/stream/deadline_wheel.hpp"

#include <caf/test/unit_test.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <vector>

using namespace herald::net;
using namespace std::chrono_literals;
using clock_type = deadline_wheel::clock;

namespace {

struct recorder final : deadline_wheel::owner {
  std::vector<clock_type::time_point> heard;
  std::vector<clock_type::time_point> heard_at;
  deadline_wheel* reschedule_on = nullptr;
  std::shared_ptr<recorder>* self = nullptr;

  void on_deadline(clock_type::time_point due) override {
    heard.push_back(due);
    heard_at.push_back(clock_type::now());
    if (reschedule_on && heard.size() == 1)
      reschedule_on->schedule(*self, clock_type::now()); // due at once
  }
};

/// Runs `ioc` until `done` holds, for at most ten seconds.
template <class Done>
void run_until(boost::asio::io_context& ioc, Done done) {
  auto give_up = clock_type::now() + 10s;
  while (!done() && clock_type::now() < give_up)
    ioc.run_one_for(100ms);
}

bool whole_second(clock_type::time_point t) {
  return t.time_since_epoch() % 1s == clock_type::duration::zero();
}

} // namespace

CAF_TEST(owners hear their deadlines on whole seconds and gone ones none) {
  boost::asio::io_context ioc{1};
  deadline_wheel wheel{ioc.get_executor()};
  auto now = clock_type::now();
  auto late = std::make_shared<recorder>();
  auto early = std::make_shared<recorder>();
  auto gone = std::make_shared<recorder>();
  auto late_due = wheel.schedule(late, now + 1500ms);
  auto early_due = wheel.schedule(early, now + 200ms);
  wheel.schedule(gone, now + 300ms);
  std::weak_ptr<recorder> gone_watch = gone;
  gone.reset(); // the session ended: its deadline goes unheard
  CAF_CHECK(whole_second(late_due));
  CAF_CHECK(whole_second(early_due));
  CAF_CHECK(late_due >= now + 1500ms && late_due < now + 2500ms);
  run_until(ioc, [&] { return !late->heard.empty(); });
  CAF_REQUIRE_EQUAL(early->heard.size(), 1u);
  CAF_REQUIRE_EQUAL(late->heard.size(), 1u);
  CAF_CHECK(early->heard[0] == early_due);
  CAF_CHECK(late->heard[0] == late_due);
  CAF_CHECK(early->heard_at[0] >= early_due);
  CAF_CHECK(late->heard_at[0] >= late_due);
  CAF_CHECK(early->heard_at[0] <= late->heard_at[0]);
  CAF_CHECK(gone_watch.expired());
}

CAF_TEST(a deadline set while the owner is called is heard on the next tick) {
  boost::asio::io_context ioc{1};
  deadline_wheel wheel{ioc.get_executor()};
  auto owner = std::make_shared<recorder>();
  owner->reschedule_on = &wheel;
  owner->self = &owner;
  wheel.schedule(owner, clock_type::now());
  run_until(ioc, [&] { return owner->heard.size() >= 2; });
  CAF_REQUIRE_EQUAL(owner->heard.size(), 2u);
  CAF_CHECK(owner->heard[1] >= owner->heard[0]);
}
