#pragma once

#include <optional>
#include <string>
#include <vector>

namespace herald::storage::detail {

/// A PostgreSQL array literal ({"a","b",NULL}) of `items`; nullopt items
/// become NULL. Pass it as a text parameter and cast: $1::text[].
std::string
to_array_literal(const std::vector<std::optional<std::string>>& items);

} // namespace herald::storage::detail
