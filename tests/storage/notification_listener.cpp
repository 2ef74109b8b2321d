#define CAF_SUITE storage.notifications

#include "storage/notification_listener.hpp"

#include "fixtures/herald_database.hpp"

#include <caf/test/unit_test.hpp>

#include <pqxx/pqxx>

#include <chrono>

using namespace herald;
using namespace std::chrono_literals;

namespace {

struct fixture : test::herald_database {
  storage::notification_listener listener{
    url(), {"first", "second"}, "herald-test-listener"};
  pqxx::connection mine{url()};
  pqxx::connection theirs{url()};

  static void notify(pqxx::connection& conn, const char* channel) {
    pqxx::nontransaction tx{conn};
    tx.exec(std::string{"NOTIFY "} + channel);
  }

  // Waits until `second` was notified (deadline 10 s); true when `first`
  // was too meanwhile.
  bool first_seen_until_second() {
    bool first = false;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto seen = listener.wait(100ms);
      first = first || seen[0];
      if (seen[1])
        return first;
    }
    CAF_FAIL("no notification on the second channel within 10 s");
    return first;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(notification_tests, fixture)

CAF_TEST(notifications from ignored senders wake nobody and others still do) {
  auto mine_pid = mine.backendpid();
  listener.ignore_senders("first", [=](int pid) { return pid == mine_pid; });
  CAF_CHECK(listener.ensure_listening());
  // One sender's notifications arrive in the order it sent them: the
  // first channel's came before the second's, and was skipped.
  notify(mine, "first");
  notify(mine, "second");
  CAF_CHECK(!first_seen_until_second());
  // The same channel from another sender is a wake-up.
  notify(theirs, "first");
  notify(theirs, "second");
  CAF_CHECK(first_seen_until_second());
}

CAF_TEST_FIXTURE_SCOPE_END()
