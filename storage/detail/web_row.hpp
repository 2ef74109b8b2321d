#pragma once

// Internal to storage/: a message's web part as the log and the feed read
// it, sealed for the wire once (protocol::seal).

#include "core/delivery.hpp"
#include "storage/detail/pg.hpp"
#include "storage/log_entry.hpp"

#include <memory>

namespace herald::storage::detail {

/// Reads six columns from `first` on: outbox id, template code, web title,
/// web body, vars (text) and created_at (ISO 8601, UTC).
std::shared_ptr<const web_content> sealed_web(const pqxx::row& row,
                                              pqxx::row::size_type first);

/// The same from a message held in memory; sets created_unix from
/// created_at.
std::shared_ptr<const web_content> sealed_web(web_message m);

/// Adds one row of a log read to `batch`, from ten columns at `first`
/// on: position, stream, then the message (null for a control entry) as
/// sealed_web reads it, its message type and its priority. Rows come in
/// (position, stream) order: a position's streams join its entry.
void add_log_row(log_batch& batch, const pqxx::row& row,
                 pqxx::row::size_type first);

} // namespace herald::storage::detail
