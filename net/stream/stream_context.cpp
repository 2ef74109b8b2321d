#include "net/stream/stream_context.hpp"

#include "actors/user/routing.hpp"

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
