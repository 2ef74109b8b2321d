#include "actors/user/session_window.hpp"

#include <algorithm>

namespace herald::actors {

session_window::session_window(int64_t acked, size_t max_unacked)
  : acked_(acked), sent_(acked),
    max_unacked_(std::max<size_t>(1, max_unacked)) {}

size_t session_window::room() const {
  return inflight_.size() >= max_unacked_ ? 0 : max_unacked_ - inflight_.size();
}

void session_window::on_sent(int64_t seq, time_point now, duration timeout) {
  sent_ = seq;
  inflight_.push_back({seq, now + timeout, 1});
}

session_window::ack_result session_window::on_ack(int64_t seq) {
  if (seq <= acked_)
    return ack_result::duplicate;
  if (seq > sent_)
    return ack_result::unknown;
  acked_ = seq;
  while (!inflight_.empty() && inflight_.front().seq <= seq) {
    if (inflight_.front().attempts > 1)
      --resent_;
    inflight_.pop_front();
  }
  return ack_result::advanced;
}

std::vector<int64_t>
session_window::due_for_resend(time_point now, duration base, duration max) {
  std::vector<int64_t> due;
  for (auto& entry : inflight_) {
    if (entry.deadline > now)
      continue;
    due.push_back(entry.seq);
    auto backoff = base;
    for (int i = 0; i < entry.attempts && backoff < max; ++i)
      backoff *= 2;
    entry.deadline = now + std::min(backoff, max);
    if (entry.attempts++ == 1)
      ++resent_;
  }
  return due;
}

bool session_window::next_deadline(time_point& out) const {
  if (inflight_.empty())
    return false;
  // Sent in order with the same timeout, the oldest is due first; only a
  // resend's backoff breaks that order.
  if (resent_ == 0) {
    out = inflight_.front().deadline;
    return true;
  }
  out = std::min_element(
          inflight_.begin(), inflight_.end(),
          [](const auto& a, const auto& b) { return a.deadline < b.deadline; })
          ->deadline;
  return true;
}

void session_window::reset(int64_t acked) {
  acked_ = acked;
  sent_ = acked;
  inflight_.clear();
  resent_ = 0;
}

} // namespace herald::actors
