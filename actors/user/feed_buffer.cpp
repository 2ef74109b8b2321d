#include "actors/user/feed_buffer.hpp"

#include <algorithm>

namespace herald::actors {

namespace {

// A message shared with other users' buffers counts in each: the budget
// bounds what one user can hold on to.
size_t weight(const delivery& d) {
  return d.content->weight();
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
  auto seq = d.seq;
  bytes_ += weight(d);
  auto [it, fresh] = messages_.try_emplace(seq);
  if (!fresh)
    bytes_ -= weight(it->second);
  it->second = std::move(d);
}

void feed_buffer::add_range(int64_t after, int64_t through,
                            std::vector<delivery> batch) {
  if (through <= after)
    return;
  for (auto& d : batch)
    if (d.seq > after && d.seq <= through)
      put(std::move(d));
  add_complete(after, through);
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
    for (auto m = messages_.upper_bound(p);
         m != messages_.end() && m->first <= through && out.items.size() < max;
         ++m) {
      out.items.push_back(m->second);
      p = m->first;
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
    for (auto m = messages_.upper_bound(p);
         m != messages_.end() && m->first <= range->second && known < ahead;
         ++m)
      ++known;
    p = range->second;
  }
  return std::nullopt;
}

void feed_buffer::truncate_after(int64_t position) {
  for (auto it = messages_.upper_bound(position); it != messages_.end();) {
    bytes_ -= weight(it->second);
    it = messages_.erase(it);
  }
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
  auto it = messages_.find(seq);
  return it == messages_.end() ? nullptr : &it->second;
}

void feed_buffer::trim(size_t limit, size_t max_bytes) {
  if (messages_.size() <= limit && bytes_ <= max_bytes)
    return;
  int64_t floor = 0; // the newest position dropped
  while (!messages_.empty() &&
         (messages_.size() > limit || bytes_ > max_bytes)) {
    auto oldest = messages_.begin();
    floor = oldest->first;
    bytes_ -= weight(oldest->second);
    messages_.erase(oldest);
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
  return messages_.empty() ? 0 : messages_.rbegin()->first;
}

} // namespace herald::actors
