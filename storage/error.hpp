#pragma once

#include <stdexcept>
#include <string>

namespace herald::storage {

/// What went wrong at the storage boundary; pqxx exceptions never leave it.
enum class errc {
  /// The database cannot be reached or the connection broke.
  unreachable,
  /// A statement failed for a reason other than connectivity.
  query_failed,
  /// An applied migration's file has different content now.
  migration_changed,
  /// A migration failed to apply; nothing of it was kept.
  migration_failed,
  /// A migration file name or set is malformed.
  bad_migration,
};

const char* to_string(errc code);

/// The exception that storage functions throw.
class error : public std::runtime_error {
public:
  error(errc code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

  errc code() const noexcept { return code_; }

private:
  errc code_;
};

} // namespace herald::storage
