#pragma once

#include "actors/stream/tail_cursor.hpp"
#include "actors/stream/tailer_actor.hpp"
#include "storage/log_source.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace herald::actors {

struct tailer_options {
  std::string database_url;
  /// Opens the log to tail; unset: the database at database_url. A
  /// restarted tailer opens it anew.
  std::function<std::unique_ptr<storage::log_source>()> open_log;
  /// Blocking reads want a thread of their own; a test's in-memory log
  /// runs on the test scheduler instead.
  bool detached = true;
  /// User shards to hand every batch to (shard_name(0..shards-1)).
  size_t shards = 1;
  /// Positions read per query.
  int64_t batch_positions = 2000;
  /// Batches per wake-up before the tailer yields to its mailbox.
  size_t batches_per_turn = 20;
  /// Pause after a failed read before the next attempt.
  caf::timespan retry_delay = std::chrono::milliseconds{500};
};

/// Spawns the tailer (detached: it blocks on the database), registered as
/// names::tailer. Every engine has one. On every wake-up (this engine's
/// expanders after a commit, the log listener on a NOTIFY from any engine,
/// the listener's poll) it reads the stream log past `tail`, once, and
/// hands each batch to every user shard, which fan it out in memory to the
/// users that read its streams here. At its first start it begins at the
/// log head; a restarted tailer goes on where `tail` says.
tailer_actor spawn_tailer(caf::event_based_actor* parent,
                          tailer_options options,
                          std::shared_ptr<tail_cursor> tail);

} // namespace herald::actors
