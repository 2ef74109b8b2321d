#include "actors/user/feed_reads.hpp"

#include <algorithm>
#include <limits>

namespace herald::actors {

int64_t feed_reads::past_in_flight(int64_t after) const {
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto& [from, to] : in_flight_)
      if (from <= after && after < to) {
        after = to;
        moved = true;
      }
  }
  return after;
}

int64_t feed_reads::next_in_flight(int64_t after, int64_t limit) const {
  for (const auto& r : in_flight_)
    if (r.first >= after)
      limit = std::min(limit, r.first);
  return limit;
}

std::vector<feed_reads::range> feed_reads::plan(int64_t after,
                                                int64_t through) {
  std::vector<range> out;
  while (in_flight_.size() < most_in_flight_) {
    after = past_in_flight(after);
    // Up to the next read in flight: what it reads is not read twice.
    auto end = next_in_flight(after, through);
    if (after >= end)
      break;
    if (span_ > 0 && end - after > span_)
      end = after + span_;
    in_flight_.emplace_back(after, end);
    out.emplace_back(after, end);
    // Without a span, one read goes as far as it can: where it stops is
    // where the next begins.
    if (span_ == 0)
      break;
    after = end;
  }
  return out;
}

void feed_reads::done(range read, int64_t complete_through, size_t count,
                      size_t limit) {
  forget(read);
  if (complete_through < read.second) {
    // Stopped by its budget: so many positions hold a read's worth.
    span_ = std::max<int64_t>(1, complete_through - read.first);
  } else if (span_ > 0 && read.second - read.first >= span_ &&
             count < limit / 2) {
    // A whole span with room to spare: the feed is sparser here.
    span_ = span_ > std::numeric_limits<int64_t>::max() / 2
              ? std::numeric_limits<int64_t>::max()
              : span_ * 2;
  }
}

void feed_reads::failed(range read) {
  forget(read);
}

void feed_reads::forget(range read) {
  auto it = std::find(in_flight_.begin(), in_flight_.end(), read);
  if (it != in_flight_.end())
    in_flight_.erase(it);
}

} // namespace herald::actors
