#include "actors/user/feed_buffer.hpp"

#include <algorithm>

namespace herald::actors {

namespace {

// A message shared with other users' buffers counts in each: the budget
// bounds what one user can hold on to.
size_t weight(const delivery& d) {
  return d.content->weight();
}

bool seq_below(const delivery& d, int64_t seq) {
  return d.seq < seq;
}

bool seq_above(int64_t seq, const delivery& d) {
  return seq < d.seq;
}

} // namespace

void feed_buffer::start_live(int64_t after) {
  live_after_ = after;
  add_complete(after, open_end);
}

void feed_buffer::add_live(delivery d) {
  put(std::move(d));
}

void feed_buffer::put(delivery d) {
  bytes_ += weight(d);
  // Live messages come in order: past the newest one, at the end.
  if (messages_.empty() || messages_.back().seq < d.seq) {
    messages_.push_back(std::move(d));
    return;
  }
  auto it =
    std::lower_bound(messages_.begin(), messages_.end(), d.seq, seq_below);
  if (it != messages_.end() && it->seq == d.seq) {
    bytes_ -= weight(*it);
    *it = std::move(d);
    return;
  }
  messages_.insert(it, std::move(d)); // a database read behind live ones
}

feed_buffer::message_store::const_iterator
feed_buffer::first_after(int64_t p) const {
  if (messages_.empty() || messages_.back().seq <= p)
    return messages_.end();
  return std::upper_bound(messages_.begin(), messages_.end(), p, seq_above);
}

void feed_buffer::add_range(int64_t after, int64_t through,
                            std::vector<delivery> batch) {
  if (through <= after)
    return;
  batch.erase(std::remove_if(batch.begin(), batch.end(),
                             [after, through](const delivery& d) {
                               return d.seq <= after || d.seq > through;
                             }),
              batch.end());
  put_read(std::move(batch));
  add_complete(after, through);
}

void feed_buffer::put_read(std::vector<delivery> batch) {
  if (batch.empty())
    return;
  // A read comes in position order, and lands past everything held or in a
  // gap between what is held (a read ahead that returned first): then it
  // goes in as one block. Inserted one by one, each message of a read
  // landing before another read moved all of that read, 256 times.
  auto ordered = std::adjacent_find(batch.begin(), batch.end(),
                                    [](const delivery& a, const delivery& b) {
                                      return a.seq >= b.seq;
                                    }) == batch.end();
  if (ordered) {
    auto at = first_after(batch.front().seq - 1);
    auto held_within = at != messages_.end() && at->seq <= batch.back().seq;
    if (!held_within) {
      for (const auto& d : batch)
        bytes_ += weight(d);
      auto position = messages_.begin() + (at - messages_.begin());
      messages_.insert(position, std::make_move_iterator(batch.begin()),
                       std::make_move_iterator(batch.end()));
      return;
    }
  }
  for (auto& d : batch)
    put(std::move(d));
}

void feed_buffer::add_complete(int64_t after, int64_t through) {
  // Merge with every range that overlaps or touches (after, through].
  auto it = complete_.upper_bound(after);
  if (it != complete_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= after) {
      after = prev->first;
      through = std::max(through, prev->second);
      it = complete_.erase(prev);
    }
  }
  while (it != complete_.end() && it->first <= through) {
    through = std::max(through, it->second);
    it = complete_.erase(it);
  }
  complete_.emplace(after, through);
}

std::map<int64_t, int64_t>::const_iterator
feed_buffer::range_after(int64_t p) const {
  auto it = complete_.upper_bound(p);
  if (it == complete_.begin())
    return complete_.end();
  --it;
  return it->second > p ? it : complete_.end();
}

feed_buffer::next feed_buffer::after(int64_t p, size_t max) const {
  next out;
  while (out.items.size() < max) {
    auto range = range_after(p);
    if (range == complete_.end()) {
      // Unknown past p: read up to the next known range (which starts no
      // later than the live start).
      auto following = complete_.upper_bound(p);
      if (following != complete_.end())
        out.fetch = std::make_pair(p, following->first);
      return out;
    }
    auto through = range->second;
    for (auto m = first_after(p);
         m != messages_.end() && m->seq <= through && out.items.size() < max;
         ++m) {
      out.items.push_back(*m);
      p = m->seq;
    }
    if (out.items.size() >= max || through == open_end)
      return out;
    p = through; // the range is exhausted: go on after it
  }
  return out;
}

std::optional<std::pair<int64_t, int64_t>>
feed_buffer::gap_ahead(int64_t p, size_t ahead) const {
  size_t known = 0;
  while (known < ahead) {
    auto range = range_after(p);
    if (range == complete_.end()) {
      auto following = complete_.upper_bound(p);
      if (following == complete_.end())
        return std::nullopt; // nothing known after p: not live yet
      return std::make_pair(p, following->first);
    }
    if (range->second == open_end)
      return std::nullopt;
    for (auto m = first_after(p);
         m != messages_.end() && m->seq <= range->second && known < ahead; ++m)
      ++known;
    p = range->second;
  }
  return std::nullopt;
}

void feed_buffer::truncate_after(int64_t position) {
  auto first =
    std::upper_bound(messages_.begin(), messages_.end(), position, seq_above);
  for (auto it = first; it != messages_.end(); ++it)
    bytes_ -= weight(*it);
  messages_.erase_from(first);
  for (auto it = complete_.begin(); it != complete_.end();) {
    if (it->first >= position) {
      it = complete_.erase(it);
    } else {
      it->second = std::min(it->second, position);
      ++it;
    }
  }
  live_after_.reset();
}

const delivery* feed_buffer::find(int64_t seq) const {
  auto it =
    std::lower_bound(messages_.begin(), messages_.end(), seq, seq_below);
  return it == messages_.end() || it->seq != seq ? nullptr : &*it;
}

void feed_buffer::trim(size_t limit, size_t max_bytes) {
  if (messages_.size() <= limit && bytes_ <= max_bytes)
    return;
  int64_t floor = 0; // the newest position dropped
  while (!messages_.empty() &&
         (messages_.size() > limit || bytes_ > max_bytes)) {
    floor = messages_.front().seq;
    bytes_ -= weight(messages_.front());
    messages_.pop_front();
  }
  // Nothing at or below `floor` is held any more: what was complete there
  // must be read again.
  for (auto it = complete_.begin(); it != complete_.end();) {
    if (it->first >= floor)
      break;
    auto through = it->second;
    it = complete_.erase(it);
    if (through > floor)
      complete_.emplace(floor, through);
  }
}

int64_t feed_buffer::newest() const {
  return messages_.empty() ? 0 : messages_.back().seq;
}

} // namespace herald::actors
