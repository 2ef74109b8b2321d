#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace herald::actors {

/// The database reads of its feed a user actor has in flight, and where the
/// next ones go. Pure bookkeeping, driven by the user actor.
///
/// A read of a backlog stops after so many messages, and the next one
/// starts where it stopped: one read at a time, the database idles while
/// the engine takes in a read's rows and the engine idles while the
/// database reads. Positions of a user's feed have gaps, so where a read
/// will stop is not known before it returns; but a read that stopped at
/// its budget says how many positions such a read spans. Past that, the
/// rest of a range is read as two reads of that span side by side, each
/// read on as soon as one returns. A read that finds its span denser than
/// the last leaves a gap (read next, as the feed buffer asks); one that
/// finds it sparser widens the span for the next.
class feed_reads {
public:
  using range = std::pair<int64_t, int64_t>; ///< (after, through]

  explicit feed_reads(size_t most_in_flight = 2)
    : most_in_flight_(most_in_flight) {}

  /// The reads to start now towards (after, through]: none for what is
  /// being read already, at most as many as may be in flight. Each one
  /// returned is in flight until done() or failed().
  std::vector<range> plan(int64_t after, int64_t through);

  /// A read of `read` answered: complete up to `complete_through`, with
  /// `count` messages, `limit` being the most it could bring.
  void done(range read, int64_t complete_through, size_t count, size_t limit);

  /// A read of `read` failed: it is no longer in flight.
  void failed(range read);

  bool any() const { return !in_flight_.empty(); }
  size_t in_flight() const { return in_flight_.size(); }

  /// Positions one read spans, as far as the reads so far tell (0: not
  /// known yet, a read goes to the end of its range).
  int64_t span() const { return span_; }

private:
  void forget(range read);

  /// `after` moved past every read in flight that covers it.
  int64_t past_in_flight(int64_t after) const;

  /// Where the first read in flight after `after` begins (`limit` if none
  /// begins before it).
  int64_t next_in_flight(int64_t after, int64_t limit) const;

  size_t most_in_flight_;
  int64_t span_ = 0;
  std::vector<range> in_flight_;
};

} // namespace herald::actors
