#pragma once

#include "core/delivery.hpp"

#include <atomic>
#include <cstdint>
#include <vector>

namespace herald::net {

/// How far a streaming session (WebSocket, SSE) was sent and acknowledged.
/// The user actor moves `sent` (on its thread, before the session's I/O thread
/// writes the frames) and the client's acks move `acked`; a restarted user
/// actor reads both. Only what the session was sent can be acknowledged,
/// so a client's bogus ack never moves where it resumes.
class session_marks {
public:
  /// The client says it has everything up to `seq`.
  void start(int64_t seq) {
    acked_ = seq;
    sent_ = seq;
  }

  /// The user actor resumes the session at `from`: a client that claimed
  /// more than the user's feed holds (a stale client) starts over there.
  void resume_at(int64_t from) {
    lower(acked_, from);
    lower(sent_, from);
  }

  void note_sent(const std::vector<delivery>& batch) {
    for (const auto& d : batch)
      raise(sent_, d.seq);
  }

  /// Records an ack; false (nothing recorded) when it is past what the
  /// session was sent.
  bool note_ack(int64_t seq) {
    if (seq > sent_.load())
      return false;
    raise(acked_, seq);
    return true;
  }

  int64_t acked() const { return acked_; }
  int64_t sent() const { return sent_; }

private:
  static void raise(std::atomic<int64_t>& mark, int64_t to) {
    auto current = mark.load();
    while (to > current && !mark.compare_exchange_weak(current, to)) {
    }
  }
  static void lower(std::atomic<int64_t>& mark, int64_t to) {
    auto current = mark.load();
    while (to < current && !mark.compare_exchange_weak(current, to)) {
    }
  }

  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> sent_{0};
};

} // namespace herald::net
