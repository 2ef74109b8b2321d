#pragma once

#include "storage/migrations.hpp"

#include <pqxx/connection>

#include <string>
#include <vector>

namespace herald::storage::detail {

/// pending_migrations_reason on a connection the caller keeps open.
std::string pending_reason(pqxx::connection& conn,
                           const std::vector<migration>& migrations);

} // namespace herald::storage::detail
