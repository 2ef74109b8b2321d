#pragma once

#include "actors/user/messages.hpp"
#include "actors/user/user_shard_actor.hpp"

#include <caf/atom.hpp>

#include <cstddef>
#include <functional>
#include <string>

namespace caf {
class actor_system;
} // namespace caf

namespace herald::actors {

/// Which of `shards` user shards owns `key`.
inline size_t shard_index(const user_key& key, size_t shards) {
  auto h = std::hash<std::string>{}(key.external_id) ^
           (std::hash<int64_t>{}(key.app_id) * 0x9e3779b97f4a7c15ULL);
  return shards == 0 ? 0 : h % shards;
}

/// The registry name of shard `index` ("ushard0", ...).
caf::atom_value shard_name(size_t index);

/// The running shard that owns `key`, or an invalid handle while it is
/// (re)starting.
user_shard_actor shard_for(caf::actor_system& sys, const user_key& key,
                           size_t shards);

} // namespace herald::actors
