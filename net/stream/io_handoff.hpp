#pragma once

// Internal to net/stream: how a streaming session's new deliveries reach
// its I/O thread.

#include "net/detail/connection_executor.hpp"

#include <memory>

namespace herald::net {

/// A session's turn on its I/O thread: `write(session.get())` runs there
/// and writes what the session was handed (a function pointer rather than
/// a virtual base: a vtable pointer would grow every idle session).
struct io_turn {
  std::shared_ptr<void> session;
  void (*write)(void* session);
};

/// Gives `turn` to the I/O thread of `executor`: one task of its own, or,
/// while a handoff_scope is open on the calling thread (a shard's fan-out
/// of one batch), one task per I/O thread for every turn handed over in
/// the scope, posted when it ends. A task per session took the I/O
/// thread's queue lock once per session, raced the I/O thread for it, and
/// woke the thread again each time it had caught up.
void hand_to_io(const detail::connection_executor& executor, io_turn turn);

} // namespace herald::net
