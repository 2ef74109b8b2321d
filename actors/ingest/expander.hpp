#pragma once

#include "actors/ingest/expander_actor.hpp"
#include "actors/stream/local_writers.hpp"

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace herald::actors {

struct expander_options {
  std::string database_url;
  /// Outbox rows claimed per transaction.
  size_t batch_size = 500;
  /// Batches per wake-up before the expander yields to its mailbox (so an
  /// exit or inspect request is not stuck behind a long backlog).
  size_t batches_per_turn = 20;
  /// Pause after a failed batch before the next attempt.
  caf::timespan retry_delay = std::chrono::seconds{1};
  /// Where expander `index` keeps its database server process (slot
  /// index - 1) for the log listener; none: nothing is kept.
  std::shared_ptr<local_writers> writers;
};

/// The registry name of expander `index` ("expand1", ...), by which the
/// outbox listener wakes it.
caf::atom_value expander_name(size_t index);

/// Spawns expander `index` (detached: it blocks on the database),
/// registered as expander_name(index). On every wake-up (the outbox
/// listener's) and once at start, it claims pending outbox rows batch by
/// batch, renders them from compiled template versions it holds, writes
/// each message once with one log entry per target stream in one
/// transaction per batch, and after each commit hands the entries to this
/// engine's tailer (names::tailer, expanded_here) and, for sms and mobile
/// texts, wakes the channel expander (names::channel_expander).
expander_actor spawn_expander(caf::event_based_actor* parent, size_t index,
                              expander_options options);

} // namespace herald::actors
