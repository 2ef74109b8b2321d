#include "actors/user/routing.hpp"

#include <caf/actor_system.hpp>

namespace herald::actors {

caf::atom_value shard_name(size_t index) {
  // Atoms hold at most 10 characters: "ushard" and up to four digits.
  return caf::atom_from_string("ushard" + std::to_string(index % 10000));
}

user_shard_actor shard_for(caf::actor_system& sys, const user_key& key,
                           size_t shards) {
  return sys.registry().get<user_shard_actor>(
    shard_name(shard_index(key, shards)));
}

} // namespace herald::actors
