#include "net/stream/stream_context.hpp"

#include "actors/user/routing.hpp"

#include <algorithm>
#include <atomic>

namespace herald::net {

actors::user_shard_actor
stream_context::shard_of(const actors::user_key& user) const {
  return actors::shard_for(*system, user, user_shards);
}

uint64_t next_session_id() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

} // namespace herald::net

namespace herald::net {

uint64_t live_sessions::add(int64_t app_id, std::weak_ptr<revocable> s) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto key = ++next_;
  sessions_.emplace(key, entry{app_id, std::move(s)});
  return key;
}

void live_sessions::remove(uint64_t key) {
  std::lock_guard<std::mutex> guard{mutex_};
  sessions_.erase(key);
}

size_t live_sessions::revoke(const std::vector<int64_t>& app_ids) {
  std::vector<std::shared_ptr<revocable>> doomed;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (const auto& [key, e] : sessions_)
      if (std::find(app_ids.begin(), app_ids.end(), e.app_id) != app_ids.end())
        if (auto s = e.session.lock())
          doomed.push_back(std::move(s));
  }
  // Outside the lock: a session that ends removes itself.
  for (auto& s : doomed)
    s->revoke();
  return doomed.size();
}

size_t live_sessions::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return sessions_.size();
}

} // namespace herald::net
