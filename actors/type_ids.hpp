#pragma once

// The one type-ID block of Herald's actor messages. Register it once per
// actor system with herald::actors::register_types(cfg).

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

CAF_BEGIN_TYPE_ID_BLOCK(herald, caf::first_custom_type_id)

/// Ask an actor to describe itself (answers a JSON string).
CAF_ADD_ATOM(herald, herald::actors, inspect_atom, "inspect")

/// A periodic wake-up an actor sends itself.
CAF_ADD_ATOM(herald, herald::actors, tick_atom, "tick")

/// Make an actor fail on purpose (operator fault injection, tests).
CAF_ADD_ATOM(herald, herald::actors, crash_atom, "crash")

/// There may be new outbox rows: claim and expand them.
CAF_ADD_ATOM(herald, herald::actors, wake_atom, "wake")

/// A woken actor's own cue to run one turn of its work: the wake-ups that
/// came before it share it (retry_loop).
CAF_ADD_ATOM(herald, herald::actors, turn_atom, "turn")

/// Write buffered progress (sent and acked seqs) to the database.
CAF_ADD_ATOM(herald, herald::actors, flush_atom, "flush")

/// Check whether an actor with nothing to do may stop.
CAF_ADD_ATOM(herald, herald::actors, idle_atom, "idle")

/// Ask a user actor where a message went: which sessions it was pushed to,
/// when (answers a JSON array).
CAF_ADD_ATOM(herald, herald::actors, trace_atom, "trace")

/// A user actor's check whether it has had nothing in flight long enough
/// to hand its state to its shard and stop.
CAF_ADD_ATOM(herald, herald::actors, passivate_atom, "passivate")

CAF_END_TYPE_ID_BLOCK(herald)

namespace caf {
class actor_system_config;
} // namespace caf

namespace herald::actors {

/// Adds Herald's message types and error category to `cfg`.
void register_types(caf::actor_system_config& cfg);

} // namespace herald::actors
