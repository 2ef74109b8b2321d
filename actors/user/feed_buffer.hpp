#pragma once

#include "core/delivery.hpp"
#include "core/fifo.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <vector>

namespace herald::actors {

/// The part of one user's feed a user actor holds in memory, and where it
/// knows that part to be complete. Positions of a user's feed have gaps
/// (other users' messages sit between them), so "complete" is kept as
/// ranges: over (after, through] the buffer holds every message of the
/// feed, or knows it holds none. The live range is open-ended: everything
/// after the position at which the user subscribed arrives in order from
/// its shard. Pure bookkeeping, driven by the user actor.
class feed_buffer {
public:
  static constexpr int64_t open_end = std::numeric_limits<int64_t>::max();

  /// Everything after `after` arrives live from now on.
  void start_live(int64_t after);

  /// Whether start_live was called.
  bool live() const { return live_after_.has_value(); }

  /// A message that arrived live (its position is past the live start).
  void add_live(delivery d);

  /// Messages read from the database for (`after`, `through`]: the feed
  /// holds exactly these there.
  void add_range(int64_t after, int64_t through, std::vector<delivery> batch);

  /// What comes after position `p`, at most `max` messages, in order.
  /// `fetch` is set when the buffer does not know what follows the last
  /// of `items` (or `p` itself): read (fetch->first, fetch->second] from
  /// the database, then ask again.
  struct next {
    std::vector<delivery> items;
    std::optional<std::pair<int64_t, int64_t>> fetch;
  };
  next after(int64_t p, size_t max) const;

  /// Whether the buffer knows the next `ahead` messages after `p`: if not,
  /// the range to read from the database so that a session catching up
  /// finds them there when its window opens again (rather than waiting for
  /// the read then). Nothing when they are held, or when the live range
  /// begins before them.
  std::optional<std::pair<int64_t, int64_t>> gap_ahead(int64_t p,
                                                       size_t ahead) const;

  /// The message at position `seq`, if held.
  const delivery* find(int64_t seq) const;

  /// Forgets everything past `position`, and that it was complete there:
  /// the user's streams changed at `position`, what follows is read again.
  void truncate_after(int64_t position);

  /// Drops the oldest messages beyond `limit` messages or `max_bytes` of
  /// text, and the knowledge of completeness below what remains: a
  /// session behind that reads them again from the database.
  void trim(size_t limit, size_t max_bytes);

  /// The newest position held (0: none).
  int64_t newest() const;

  size_t size() const { return messages_.size(); }

  /// The text the buffer holds (titles, bodies, data), in bytes.
  size_t bytes() const { return bytes_; }

private:
  /// The messages held, in position order: live ones are appended, the
  /// oldest trimmed from the front, and walking them is walking memory in
  /// order (a std::map's nodes were a cache miss each, with a thousand
  /// users' buffers of a thousand messages each).
  using message_store = fifo<delivery>;

  /// The first message after position p.
  message_store::const_iterator first_after(int64_t p) const;

  /// The complete range containing position p + 1, if any.
  std::map<int64_t, int64_t>::const_iterator range_after(int64_t p) const;

  void add_complete(int64_t after, int64_t through);
  void put(delivery d);
  /// A read's messages, all in its range.
  void put_read(std::vector<delivery> batch);

  message_store messages_;
  /// Complete ranges, disjoint and merged: after -> through.
  std::map<int64_t, int64_t> complete_;
  std::optional<int64_t> live_after_;
  size_t bytes_ = 0;
};

} // namespace herald::actors
