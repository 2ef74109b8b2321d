#pragma once

#include <string>
#include <vector>

namespace herald::storage {

/// One numbered SQL file from schema/, e.g. "0001_foundation.sql".
struct migration {
  std::string name;
  std::string sql;
};

/// What one run of apply_migrations did.
struct migration_report {
  /// Files applied by this run, in order.
  std::vector<std::string> applied;
  /// Files that an earlier run had already applied.
  std::vector<std::string> already_applied;
  /// Versions recorded in the database that this engine does not know: a
  /// newer engine has run against it.
  std::vector<std::string> unknown_recorded;
};

/// The migrations compiled into this binary from schema/, in version order.
const std::vector<migration>& bundled_migrations();

/// The version number of a migration file name ("0007_x.sql" -> 7). Throws
/// storage::error(bad_migration) for a name not of the form NNNN_name.sql.
int migration_version(const std::string& name);

/// Applies every migration not yet recorded in herald.schema_migrations,
/// each in its own transaction, under a PostgreSQL advisory lock so that
/// engines starting together apply each file exactly once. Refuses, before
/// applying anything, when an applied file's content has changed.
migration_report apply_migrations(const std::string& database_url,
                                  const std::vector<migration>& migrations);

/// Why the database is not at the schema `migrations` describe, or an empty
/// string when every migration is applied with a matching checksum. Reads
/// only; throws storage::error(unreachable) when the database is down.
std::string pending_migrations_reason(const std::string& database_url,
                                      const std::vector<migration>& migrations);

} // namespace herald::storage
