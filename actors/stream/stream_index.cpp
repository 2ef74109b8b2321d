#include "actors/stream/stream_index.hpp"

#include <algorithm>

namespace herald::actors {

void stream_index::subscribe(const user_key& user,
                             std::vector<std::string> streams) {
  unsubscribe(user);
  std::sort(streams.begin(), streams.end());
  streams.erase(std::unique(streams.begin(), streams.end()), streams.end());
  for (const auto& s : streams)
    subscribers_[s].push_back(user);
  by_user_[user] = std::move(streams);
}

void stream_index::unsubscribe(const user_key& user) {
  auto it = by_user_.find(user);
  if (it == by_user_.end())
    return;
  for (const auto& s : it->second) {
    auto readers = subscribers_.find(s);
    if (readers == subscribers_.end())
      continue;
    auto& v = readers->second;
    v.erase(std::remove(v.begin(), v.end(), user), v.end());
    if (v.empty())
      subscribers_.erase(readers);
  }
  by_user_.erase(it);
}

std::map<user_key, feed_items>
stream_index::fan_out(const std::vector<storage::log_entry>& entries,
                      int64_t after) const {
  std::map<user_key, feed_items> out;
  for (const auto& entry : entries) {
    if (entry.position <= after)
      continue;
    for (const auto& stream : entry.streams) {
      auto readers = subscribers_.find(stream);
      if (readers == subscribers_.end())
        continue;
      for (const auto& user : readers->second) {
        auto& items = out[user].items;
        // Entries come in position order: a second stream of the same
        // entry shows as the same last position.
        if (!items.empty() && items.back().position == entry.position)
          continue;
        items.push_back({entry.position, entry.message});
      }
    }
  }
  return out;
}

size_t stream_index::subscribers(const std::string& stream) const {
  auto it = subscribers_.find(stream);
  return it == subscribers_.end() ? 0 : it->second.size();
}

const std::vector<std::string>*
stream_index::streams_of(const user_key& user) const {
  auto it = by_user_.find(user);
  return it == by_user_.end() ? nullptr : &it->second;
}

} // namespace herald::actors
