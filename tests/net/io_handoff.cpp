#define CAF_SUITE net.io_handoff

#include "net/stream/io_handoff.hpp"

#include "core/handoff_scope.hpp"

#include <caf/test/unit_test.hpp>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace herald;
using namespace herald::net;

namespace {

/// Stands in for a session: its turn notes its name in the log.
struct recorder {
  std::string name;
  std::vector<std::string>* log;
};

io_turn turn_of(const std::string& name, std::vector<std::string>& log) {
  return {std::make_shared<recorder>(recorder{name, &log}), [](void* session) {
            auto* r = static_cast<recorder*>(session);
            r->log->push_back(r->name);
          }};
}

} // namespace

CAF_TEST(without a scope every turn is a task of its own) {
  boost::asio::io_context io{1};
  std::vector<std::string> log;
  hand_to_io(io.get_executor(), turn_of("a", log));
  hand_to_io(io.get_executor(), turn_of("b", log));
  CAF_CHECK_EQUAL(io.poll(), 2u);
  CAF_CHECK_EQUAL(log, (std::vector<std::string>{"a", "b"}));
}

CAF_TEST(within a scope each I/O thread gets one task for all its turns at the end) {
  boost::asio::io_context first{1};
  boost::asio::io_context second{1};
  std::vector<std::string> first_log;
  std::vector<std::string> second_log;
  {
    handoff_scope scope;
    hand_to_io(first.get_executor(), turn_of("a", first_log));
    hand_to_io(second.get_executor(), turn_of("x", second_log));
    hand_to_io(first.get_executor(), turn_of("b", first_log));
    hand_to_io(first.get_executor(), turn_of("c", first_log));
    // Nothing is posted while the batch goes on.
    CAF_CHECK_EQUAL(first.poll(), 0u);
    CAF_CHECK_EQUAL(second.poll(), 0u);
    first.restart();
    second.restart();
  }
  CAF_CHECK_EQUAL(first.poll(), 1u);
  CAF_CHECK_EQUAL(first_log, (std::vector<std::string>{"a", "b", "c"}));
  CAF_CHECK_EQUAL(second.poll(), 1u);
  CAF_CHECK_EQUAL(second_log, (std::vector<std::string>{"x"}));
  // The next scope starts empty.
  first.restart();
  {
    handoff_scope scope;
    hand_to_io(first.get_executor(), turn_of("d", first_log));
  }
  CAF_CHECK_EQUAL(first.poll(), 1u);
  CAF_CHECK_EQUAL(first_log, (std::vector<std::string>{"a", "b", "c", "d"}));
}
