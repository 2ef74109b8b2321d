#include "storage/error.hpp"

namespace herald::storage {

const char* to_string(errc code) {
  switch (code) {
    case errc::unreachable:
      return "unreachable";
    case errc::query_failed:
      return "query_failed";
    case errc::migration_changed:
      return "migration_changed";
    case errc::migration_failed:
      return "migration_failed";
    case errc::bad_migration:
      return "bad_migration";
  }
  return "unknown";
}

} // namespace herald::storage
