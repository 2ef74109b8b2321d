#define CAF_SUITE storage.migrations

#include "storage/migrations.hpp"

#include "fixtures/database.hpp"
#include "storage/error.hpp"

#include <caf/test/unit_test.hpp>

#include <atomic>
#include <optional>
#include <thread>

using namespace herald;
using herald::storage::migration;

namespace {

struct fixture : test::database_fixture {
  const std::vector<migration> sample{
    {"0001_create.sql", "CREATE TABLE herald.sample (x integer);"},
    // Slow on purpose: widens the window in which a second migrator could
    // slip in if the lock did not hold.
    {"0002_fill.sql",
     "SELECT pg_sleep(0.2); INSERT INTO herald.sample VALUES (1);"},
  };

  int applied_count() const {
    return std::stoi(
      query_value("SELECT count(*) FROM herald.schema_migrations"));
  }

  // The errc and message of what `fn` throws, or nothing.
  template <class F>
  std::optional<storage::error> thrown(F&& fn) {
    try {
      fn();
    } catch (const storage::error& e) {
      return e;
    }
    return std::nullopt;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(migration_tests, fixture)

CAF_TEST(bundled migrations apply once and then are recorded) {
  const auto& bundled = storage::bundled_migrations();
  CAF_REQUIRE(!bundled.empty());
  auto first = storage::apply_migrations(url(), bundled);
  CAF_CHECK_EQUAL(first.applied.size(), bundled.size());
  CAF_CHECK(first.already_applied.empty());
  auto second = storage::apply_migrations(url(), bundled);
  CAF_CHECK(second.applied.empty());
  CAF_CHECK_EQUAL(second.already_applied.size(), bundled.size());
  CAF_CHECK_EQUAL(applied_count(), static_cast<int>(bundled.size()));
  CAF_CHECK_EQUAL(storage::pending_migrations_reason(url(), bundled), "");
}

CAF_TEST(engines starting together apply each migration exactly once) {
  constexpr int engines = 4;
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < engines; ++i)
    threads.emplace_back([&] {
      try {
        auto report = storage::apply_migrations(url(), sample);
        applied += static_cast<int>(report.applied.size());
      } catch (const std::exception&) {
        ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  CAF_CHECK_EQUAL(failures.load(), 0);
  CAF_CHECK_EQUAL(applied.load(), 2);
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.sample"), "1");
  CAF_CHECK_EQUAL(applied_count(), 2);
}

CAF_TEST(a changed applied migration is refused naming the file) {
  storage::apply_migrations(url(), {sample[0]});
  auto changed = sample;
  changed[0].sql = "CREATE TABLE herald.sample (x bigint);";
  auto err = thrown([&] { storage::apply_migrations(url(), changed); });
  CAF_REQUIRE(err.has_value());
  CAF_CHECK_EQUAL(err->code(), storage::errc::migration_changed);
  CAF_CHECK(std::string{err->what()}.find("0001_create.sql") !=
            std::string::npos);
  // Refused before anything else ran: 0002 is not applied.
  CAF_CHECK_EQUAL(applied_count(), 1);
  CAF_CHECK_EQUAL(storage::pending_migrations_reason(url(), changed),
                  "migration 0001_create.sql was changed after it was applied");
}

CAF_TEST(a failing migration leaves nothing behind and names the file) {
  std::vector<migration> broken{
    sample[0],
    {"0002_broken.sql", "CREATE TABLE herald.half (x int); SELECT 1/0;"},
  };
  auto err = thrown([&] { storage::apply_migrations(url(), broken); });
  CAF_REQUIRE(err.has_value());
  CAF_CHECK_EQUAL(err->code(), storage::errc::migration_failed);
  CAF_CHECK(std::string{err->what()}.find("0002_broken.sql") !=
            std::string::npos);
  CAF_CHECK_EQUAL(applied_count(), 1);
  CAF_CHECK_EQUAL(query_value("SELECT to_regclass('herald.half')::text"), "");
}

CAF_TEST(malformed names and duplicate versions are refused) {
  auto bad_name = thrown([&] {
    storage::apply_migrations(url(), {{"1_short.sql", "SELECT 1"}});
  });
  CAF_REQUIRE(bad_name.has_value());
  CAF_CHECK_EQUAL(bad_name->code(), storage::errc::bad_migration);
  auto duplicate = thrown([&] {
    storage::apply_migrations(
      url(), {{"0001_a.sql", "SELECT 1"}, {"0001_b.sql", "SELECT 1"}});
  });
  CAF_REQUIRE(duplicate.has_value());
  CAF_CHECK_EQUAL(duplicate->code(), storage::errc::bad_migration);
  CAF_CHECK_EQUAL(storage::migration_version("0042_x_y.sql"), 42);
}

CAF_TEST(pending migrations are reported by name) {
  storage::apply_migrations(url(), {sample[0]});
  CAF_CHECK_EQUAL(storage::pending_migrations_reason(url(), sample),
                  "migration 0002_fill.sql is not applied");
}

CAF_TEST(an unreachable database is reported as such) {
  auto err = thrown([&] {
    storage::apply_migrations("postgresql:///none?host=/nonexistent", sample);
  });
  CAF_REQUIRE(err.has_value());
  CAF_CHECK_EQUAL(err->code(), storage::errc::unreachable);
}

CAF_TEST_FIXTURE_SCOPE_END()
