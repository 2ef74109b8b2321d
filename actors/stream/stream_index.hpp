#pragma once

#include "actors/user/messages.hpp"
#include "storage/log_entry.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace herald::actors {

/// Which local users read which streams, and the fan-out of log entries
/// to them: the stream level of one user shard. A user reached through
/// two of an entry's streams (its store and its merchant) gets it once;
/// every user gets its entries in position order, because one shard hands
/// them all on (CAF orders messages per sender and receiver only, so the
/// fan-out to one user must have one sender: docs/design.md). Pure
/// bookkeeping, driven by the shard.
class stream_index {
public:
  /// `user` reads exactly `streams` from now on.
  void subscribe(const user_key& user, std::vector<std::string> streams);

  /// `user` reads nothing any more.
  void unsubscribe(const user_key& user);

  /// One user's share of a batch. `user` points into the index: valid
  /// until that user subscribes again or leaves.
  struct fanned {
    const user_key* user;
    feed_items items;
  };

  /// The feed items of every subscribed user in `entries`, in order; each
  /// user once, in the order they first appear.
  std::vector<fanned> fan_out(const std::vector<storage::log_entry>& entries,
                              int64_t after) const;

  /// Streams with at least one local subscriber.
  size_t streams() const { return subscribers_.size(); }

  /// The users reading `stream`.
  size_t subscribers(const std::string& stream) const;

  /// The streams `user` reads.
  const std::vector<std::string>* streams_of(const user_key& user) const;

private:
  struct subscription {
    std::vector<std::string> streams;
    /// The batch this user was last given a place in the output of, and
    /// that place: a user reached through several streams of an entry, or
    /// by several entries, is found without a search by key.
    mutable uint64_t batch = 0;
    mutable size_t slot = 0;
  };
  using user_node = std::pair<const user_key, subscription>;

  /// The readers of each stream, as pointers to their nodes in by_user_
  /// (a std::map's nodes stay where they are).
  std::unordered_map<std::string, std::vector<const user_node*>> subscribers_;
  std::map<user_key, subscription> by_user_;
  mutable uint64_t batches_ = 0;
};

} // namespace herald::actors
