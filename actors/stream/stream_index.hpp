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

  /// The feed items of every subscribed user in `entries`, in order.
  std::map<user_key, feed_items>
  fan_out(const std::vector<storage::log_entry>& entries, int64_t after) const;

  /// Streams with at least one local subscriber.
  size_t streams() const { return subscribers_.size(); }

  /// The users reading `stream`.
  size_t subscribers(const std::string& stream) const;

  /// The streams `user` reads.
  const std::vector<std::string>* streams_of(const user_key& user) const;

private:
  std::unordered_map<std::string, std::vector<user_key>> subscribers_;
  std::map<user_key, std::vector<std::string>> by_user_;
};

} // namespace herald::actors
