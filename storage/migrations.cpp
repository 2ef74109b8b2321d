#include "storage/migrations.hpp"

#include "core/log.hpp"
#include "core/sha256.hpp"
#include "storage/detail/migrations_check.hpp"
#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace herald::storage {

namespace {

// "HERALDMG" as a number: the advisory lock key that serialises migrators.
constexpr long long migration_lock_key = 0x484552414c444d47LL;

constexpr const char* bootstrap_sql = R"sql(
  CREATE SCHEMA IF NOT EXISTS herald;
  CREATE TABLE IF NOT EXISTS herald.schema_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );
)sql";

struct recorded_migration {
  std::string name;
  std::string checksum;
};

using recorded_map = std::map<int, recorded_migration>;

// Checks names, duplicates and order; returns the migrations sorted.
std::vector<migration> validated(const std::vector<migration>& input) {
  auto sorted = input;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return migration_version(a.name) < migration_version(b.name);
  });
  std::set<int> seen;
  for (const auto& m : sorted)
    if (!seen.insert(migration_version(m.name)).second)
      throw error(errc::bad_migration,
                  "two migrations share version " +
                    std::to_string(migration_version(m.name)) + " (" + m.name +
                    ")");
  return sorted;
}

recorded_map read_recorded(pqxx::transaction_base& tx) {
  recorded_map result;
  auto exists = tx.exec1("SELECT to_regclass('herald.schema_migrations')");
  if (exists[0].is_null())
    return result;
  for (const auto& row :
       tx.exec("SELECT version, name, checksum FROM herald.schema_migrations"))
    result[row[0].as<int>()] = {row[1].as<std::string>(),
                                row[2].as<std::string>()};
  return result;
}

// Refuses when a recorded migration's file now has other content.
void check_unchanged(const std::vector<migration>& migrations,
                     const recorded_map& recorded) {
  for (const auto& m : migrations) {
    auto it = recorded.find(migration_version(m.name));
    if (it == recorded.end())
      continue;
    auto checksum = sha256_hex(m.sql);
    if (it->second.checksum != checksum)
      throw error(errc::migration_changed,
                  "migration " + m.name +
                    " was changed after it was applied (recorded checksum " +
                    it->second.checksum.substr(0, 12) + ", file has " +
                    checksum.substr(0, 12) +
                    "); put the change in a new migration file instead");
  }
}

} // namespace

int migration_version(const std::string& name) {
  static const std::regex pattern{R"(^([0-9]{4})_[A-Za-z0-9_]+\.sql$)"};
  std::smatch match;
  if (!std::regex_match(name, match, pattern))
    throw error(errc::bad_migration,
                "migration file name '" + name +
                  "' is not of the form NNNN_description.sql");
  return std::stoi(match[1].str());
}

migration_report apply_migrations(const std::string& database_url,
                                  const std::vector<migration>& input) {
  auto logger = log::get("storage");
  auto migrations = validated(input);
  auto conn = detail::open(database_url);
  migration_report report;
  detail::translate([&] {
    // A session-level lock: held across the per-file transactions below and
    // released when the connection closes, even if this process dies.
    pqxx::nontransaction lock_tx{*conn};
    lock_tx.exec("SELECT pg_advisory_lock(" +
                 std::to_string(migration_lock_key) + ")");
    lock_tx.exec(bootstrap_sql);
    auto recorded = read_recorded(lock_tx);
    lock_tx.commit();
    check_unchanged(migrations, recorded);
    std::set<int> known;
    for (const auto& m : migrations) {
      auto version = migration_version(m.name);
      known.insert(version);
      if (recorded.count(version) > 0) {
        report.already_applied.push_back(m.name);
        continue;
      }
      try {
        pqxx::work tx{*conn};
        tx.exec(m.sql);
        tx.exec_params("INSERT INTO herald.schema_migrations"
                       " (version, name, checksum) VALUES ($1, $2, $3)",
                       version, m.name, sha256_hex(m.sql));
        tx.commit();
      } catch (const pqxx::broken_connection&) {
        throw;
      } catch (const std::exception& e) {
        throw error(errc::migration_failed,
                    "migration " + m.name + " failed: " + e.what());
      }
      logger->info("applied migration {}", m.name);
      report.applied.push_back(m.name);
    }
    for (const auto& [version, rec] : recorded)
      if (known.count(version) == 0)
        report.unknown_recorded.push_back(rec.name);
    pqxx::nontransaction unlock_tx{*conn};
    unlock_tx.exec("SELECT pg_advisory_unlock(" +
                   std::to_string(migration_lock_key) + ")");
  });
  if (!report.unknown_recorded.empty())
    logger->warn("the database has {} migration(s) this engine does not know, "
                 "first {}; a newer engine has run against it",
                 report.unknown_recorded.size(),
                 report.unknown_recorded.front());
  return report;
}

std::string detail::pending_reason(pqxx::connection& conn,
                                   const std::vector<migration>& input) {
  auto migrations = validated(input);
  return detail::translate([&]() -> std::string {
    // Two reads with no transaction block around them (readiness runs
    // this every second): a migration applied between them shows at the
    // next check.
    pqxx::nontransaction tx{conn};
    auto recorded = read_recorded(tx);
    for (const auto& m : migrations) {
      auto it = recorded.find(migration_version(m.name));
      if (it == recorded.end())
        return "migration " + m.name + " is not applied";
      if (it->second.checksum != sha256_hex(m.sql))
        return "migration " + m.name + " was changed after it was applied";
    }
    return {};
  });
}

std::string pending_migrations_reason(const std::string& database_url,
                                      const std::vector<migration>& input) {
  auto conn = detail::open(database_url);
  return detail::pending_reason(*conn, input);
}

} // namespace herald::storage
