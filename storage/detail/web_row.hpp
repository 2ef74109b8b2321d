#pragma once

// Internal to storage/: a message's web part as the log and the feed read
// it, sealed for the wire once (protocol::seal).

#include "core/delivery.hpp"
#include "storage/detail/pg.hpp"

#include <memory>

namespace herald::storage::detail {

/// Reads six columns from `first` on: outbox id, template code, web title,
/// web body, vars (text) and created_at (ISO 8601, UTC).
std::shared_ptr<const web_content> sealed_web(const pqxx::row& row,
                                              pqxx::row::size_type first);

} // namespace herald::storage::detail
