#include "actors/stream/stream_index.hpp"

#include <algorithm>

namespace herald::actors {

void stream_index::subscribe(const user_key& user,
                             std::vector<std::string> streams) {
  unsubscribe(user);
  std::sort(streams.begin(), streams.end());
  streams.erase(std::unique(streams.begin(), streams.end()), streams.end());
  auto& node = *by_user_.emplace(user, subscription{}).first;
  for (const auto& s : streams)
    subscribers_[s].push_back(&node);
  node.second.streams = std::move(streams);
}

void stream_index::unsubscribe(const user_key& user) {
  auto it = by_user_.find(user);
  if (it == by_user_.end())
    return;
  const user_node* node = &*it;
  for (const auto& s : it->second.streams) {
    auto readers = subscribers_.find(s);
    if (readers == subscribers_.end())
      continue;
    auto& v = readers->second;
    v.erase(std::remove(v.begin(), v.end(), node), v.end());
    if (v.empty())
      subscribers_.erase(readers);
  }
  by_user_.erase(it);
}

std::vector<stream_index::fanned>
stream_index::fan_out(const std::vector<storage::log_entry>& entries,
                      int64_t after) const {
  std::vector<fanned> out;
  auto batch = ++batches_;
  for (const auto& entry : entries) {
    if (entry.position <= after)
      continue;
    for (const auto& stream : entry.streams) {
      auto readers = subscribers_.find(stream);
      if (readers == subscribers_.end())
        continue;
      for (const auto* node : readers->second) {
        auto& sub = node->second;
        if (sub.batch != batch) {
          sub.batch = batch;
          sub.slot = out.size();
          out.push_back({&node->first, {}});
        }
        auto& items = out[sub.slot].items.items;
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
  return it == by_user_.end() ? nullptr : &it->second.streams;
}

} // namespace herald::actors
