#define CAF_SUITE storage.readiness

#include "storage/readiness_probe.hpp"

#include "fixtures/database.hpp"
#include "storage/node_registry.hpp"

#include <caf/test/unit_test.hpp>

using namespace herald;

namespace {

struct fixture : test::database_fixture {};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(readiness_tests, fixture)

CAF_TEST(not ready until migrated then ready) {
  const auto& bundled = storage::bundled_migrations();
  storage::readiness_probe probe{url(), bundled};
  auto before = probe.check();
  CAF_CHECK(!before.ready);
  CAF_CHECK(contains(before.reason, "is not applied"));
  storage::apply_migrations(url(), bundled);
  auto after = probe.check();
  CAF_CHECK(after.ready);
}

CAF_TEST(not ready while the database is unreachable) {
  storage::readiness_probe probe{"postgresql:///none?host=/nonexistent",
                                 storage::bundled_migrations()};
  auto result = probe.check();
  CAF_CHECK(!result.ready);
  CAF_CHECK(contains(result.reason, "database unreachable"));
}

CAF_TEST(a terminated connection is replaced on the next check) {
  storage::apply_migrations(url(), storage::bundled_migrations());
  storage::readiness_probe probe{url(), storage::bundled_migrations()};
  CAF_REQUIRE(probe.check().ready);
  exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
       " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  // The first check after the kill may fail; the one after must not.
  probe.check();
  CAF_CHECK(probe.check().ready);
}

CAF_TEST(node registry heartbeats and unregisters) {
  storage::apply_migrations(url(), storage::bundled_migrations());
  auto id = storage::random_uuid();
  CAF_CHECK_EQUAL(id.size(), 36u);
  CAF_CHECK_EQUAL(id[14], '4');
  storage::node_registry registry{url(), {id, "host", 42, "test", "x:1"}};
  registry.heartbeat();
  registry.heartbeat();
  CAF_CHECK_EQUAL(
    query_value("SELECT count(*) FROM herald.nodes WHERE id = '" + id + "'"),
    "1");
  registry.unregister();
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.nodes"), "0");
}

CAF_TEST_FIXTURE_SCOPE_END()
