#pragma once

#include "core/fifo.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

namespace herald::actors {

/// What one live stream session (WebSocket or SSE) of a user has been sent
/// and has acknowledged: the unacked window, with resend deadlines that
/// back off. Pure bookkeeping, driven by the user actor and its clock.
class session_window {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  enum class ack_result {
    /// Acknowledged something new (everything up to the seq).
    advanced,
    /// Already acknowledged before: harmless, nothing changes.
    duplicate,
    /// Beyond what this session was sent: ignored.
    unknown,
  };

  /// A session that has everything up to `acked` and may hold at most
  /// `max_unacked` messages in flight.
  session_window(int64_t acked, size_t max_unacked);

  int64_t acked() const { return acked_; }
  int64_t sent() const { return sent_; }
  size_t unacked() const { return inflight_.size(); }
  size_t max_unacked() const { return max_unacked_; }

  /// How many more messages may be sent now.
  size_t room() const;

  /// Records that `seq` (exactly sent() + 1) went out at `now`; it is due
  /// for a resend after `timeout` unless acknowledged before.
  void on_sent(int64_t seq, time_point now, duration timeout);

  /// A cumulative acknowledgement: everything up to `seq`.
  ack_result on_ack(int64_t seq);

  /// Seqs whose deadline has passed at `now`, oldest first. Each gets a new
  /// deadline: `base` doubled per earlier attempt, at most `max`.
  std::vector<int64_t> due_for_resend(time_point now, duration base,
                                      duration max);

  /// The earliest resend deadline, if anything is in flight.
  bool next_deadline(time_point& out) const;

  /// Whether something in flight was resent (its deadline backs off).
  bool resending() const { return resent_ > 0; }

  /// Calls `f(seq, deadline)` for what is in flight, oldest first.
  template <class F>
  void each_in_flight(F f) const {
    for (const auto& entry : inflight_)
      f(entry.seq, entry.deadline);
  }

  /// Forgets what is in flight and restarts from `acked` (after a restart
  /// of the user actor, or when a resumed session says where it is).
  void reset(int64_t acked);

private:
  struct inflight {
    int64_t seq;
    time_point deadline;
    int attempts;
  };

  int64_t acked_;
  int64_t sent_;
  size_t max_unacked_;
  fifo<inflight> inflight_;
  /// Entries in flight that were resent (their deadlines back off).
  size_t resent_ = 0;
};

} // namespace herald::actors
