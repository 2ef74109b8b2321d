#define CAF_SUITE net.write_pacer

#include "net/stream/write_pacer.hpp"

#include <caf/test/unit_test.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <vector>

using namespace herald::net;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

/// A stand-in session: what it writes is its id, in `log`, at the time.
struct held_session {
  int id;
  std::vector<int>* log;
  std::vector<clock_type::time_point>* at;
  /// Held again the first time it writes, on this pacer.
  write_pacer* hold_again = nullptr;
  std::shared_ptr<held_session>* self = nullptr;
};

io_turn turn_of(const std::shared_ptr<held_session>& session) {
  return {session, [](void* p) {
            auto* s = static_cast<held_session*>(p);
            s->log->push_back(s->id);
            s->at->push_back(clock_type::now());
            if (s->hold_again) {
              auto* pacer = std::exchange(s->hold_again, nullptr);
              pacer->hold(turn_of(*s->self), 20ms);
            }
          }};
}

/// Runs `ioc` until `done` holds, for at most ten seconds.
template <class Done>
void run_until(boost::asio::io_context& ioc, Done done) {
  auto give_up = clock_type::now() + 10s;
  while (!done() && clock_type::now() < give_up)
    ioc.run_one_for(100ms);
}

} // namespace

CAF_TEST(sessions held before a tick write at it once each in order) {
  boost::asio::io_context ioc{1};
  write_pacer pacer{ioc.get_executor()};
  std::vector<int> log;
  std::vector<clock_type::time_point> at;
  auto first = std::make_shared<held_session>(held_session{1, &log, &at});
  auto second = std::make_shared<held_session>(held_session{2, &log, &at});
  auto held_from = clock_type::now();
  pacer.hold(turn_of(first), 50ms);
  // Held later in the same window: written at the same tick, not 50 ms
  // after its own hold.
  pacer.hold(turn_of(second), 50ms);
  CAF_CHECK(log.empty()); // nothing is written on the hold itself
  run_until(ioc, [&] { return log.size() >= 2; });
  CAF_REQUIRE_EQUAL(log, (std::vector<int>{1, 2}));
  CAF_CHECK(at[0] >= held_from + 50ms);
  CAF_CHECK(at[0] <= at[1]);
  // The tick is over: nothing more is written.
  ioc.restart();
  ioc.poll();
  CAF_CHECK_EQUAL(log.size(), 2u);
}

CAF_TEST(a session held while the tick writes waits for the next tick) {
  boost::asio::io_context ioc{1};
  write_pacer pacer{ioc.get_executor()};
  std::vector<int> log;
  std::vector<clock_type::time_point> at;
  auto session = std::make_shared<held_session>(held_session{7, &log, &at});
  session->hold_again = &pacer;
  session->self = &session;
  pacer.hold(turn_of(session), 20ms);
  run_until(ioc, [&] { return log.size() >= 2; });
  CAF_REQUIRE_EQUAL(log, (std::vector<int>{7, 7}));
  CAF_CHECK(at[1] >= at[0] + 20ms);
}
