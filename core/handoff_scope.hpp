#pragma once

// A thread that hands work to other threads item by item (a user shard
// fanning a batch of the log out to a thousand sessions) can make the
// hand-offs of one batch together when it ends: one wake-up of each
// receiving thread instead of one per item. Counts in state every thread
// writes (the metrics) are made the same way: once per batch.

namespace herald {

/// Open on the calling thread for the length of one batch of hand-offs;
/// scopes nest, and only the outermost one's end makes what was deferred.
/// Pure bookkeeping: whoever defers says what its flush does
/// (net/stream/io_handoff.hpp).
class handoff_scope {
public:
  handoff_scope();
  ~handoff_scope();
  handoff_scope(const handoff_scope&) = delete;
  handoff_scope& operator=(const handoff_scope&) = delete;

  /// Whether a scope is open on the calling thread.
  static bool open();

  /// Calls `flush` when the outermost scope open on this thread ends, or
  /// at once when none is open. A function deferred more than once in one
  /// scope is called once.
  static void defer(void (*flush)());
};

} // namespace herald
