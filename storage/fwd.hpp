#pragma once

// Forward declarations of herald_storage's plain data types, for headers
// that only name them (typed actor interfaces, say).
namespace herald::storage {

struct cursor_update;
struct feed_read;
struct inbox_user;
struct log_batch;
struct log_entry;
struct message_content;

} // namespace herald::storage
