#pragma once

// Internal to net/stream: the write delay's tick on one I/O thread.

#include "net/detail/connection_executor.hpp"
#include "net/stream/io_handoff.hpp"

#include <chrono>
#include <vector>

namespace herald::net {

/// The sessions of one I/O thread that hold their messages back for the
/// write delay (stream_context::write_delay), on one timer. A session that
/// wrote a moment ago queues what comes next and asks for the thread's
/// next tick; every session held by then writes at that tick, what it holds
/// in one system call. A timer per session would cost every connection its
/// memory, idle or not.
class write_pacer {
public:
  /// The pacer of the calling I/O thread; `executor` is its io_context's.
  /// Only that thread may use it.
  static write_pacer& here(const detail::connection_executor& executor);

  explicit write_pacer(const detail::connection_executor& executor);

  /// `turn` runs on the thread at the next tick, `delay` from the first
  /// hold since the last tick at the latest.
  void hold(io_turn turn, std::chrono::steady_clock::duration delay);

private:
  void on_tick();

  std::vector<io_turn> held_;
  detail::session_timer timer_;
  bool armed_ = false;
};

} // namespace herald::net
