#pragma once

#include "actors/user/messages.hpp"
#include "storage/log_entry.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace herald::actors {

/// What the stream index knows of one local user: the streams it reads,
/// and its place in the batch being fanned out. The user's owner (the
/// shard's entry for it) holds it, so that the index keeps no map of
/// users of its own. It must stay where it is while subscribed, and leave
/// the index before it goes.
class stream_reader {
private:
  friend class stream_index;
  /// The streams read, as the index numbers them (stream_index::key),
  /// sorted; none while not subscribed.
  std::vector<uint64_t> streams_;
  /// The batch this reader was last given a place in the output of, and
  /// that place: a user reached through several streams of an entry, or by
  /// several entries, is found without a search.
  mutable uint64_t batch_ = 0;
  /// In 32 bits: a user shard's entry (which derives from this) keeps a
  /// field of its own in the rest of the 8 bytes.
  mutable uint32_t slot_ = 0;
};

/// Which local users read which streams, and the fan-out of log entries
/// to them: the stream level of one user shard. A user reached through
/// two of an entry's streams (its store and its merchant) gets it once;
/// every user gets its entries in position order, because one shard hands
/// them all on (CAF orders messages per sender and receiver only, so the
/// fan-out to one user must have one sender: docs/design.md). Pure
/// bookkeeping, driven by the shard.
class stream_index {
public:
  /// `reader` reads exactly `streams` from now on.
  void subscribe(stream_reader& reader, std::vector<std::string> streams);

  /// `reader` reads nothing any more.
  void unsubscribe(stream_reader& reader);

  /// One reader's share of a batch.
  struct fanned {
    stream_reader* reader;
    feed_items items;
  };

  /// The feed items of every subscribed reader in `entries` past `after`,
  /// in order; each reader once, in the order they first appear.
  std::vector<fanned> fan_out(const std::vector<storage::log_entry>& entries,
                              int64_t after) const;

  /// The same for consecutive batches at once, as if they were one: each
  /// reader's items from all of them, in order. A batch's entries count
  /// past `after` and past the end of every batch before it.
  std::vector<fanned>
  fan_out(const std::vector<std::shared_ptr<const storage::log_batch>>& batches,
          int64_t after) const;

  /// Streams with at least one local subscriber.
  size_t streams() const { return subscribers_.size(); }

  /// The readers of `stream`.
  size_t subscribers(const std::string& stream) const;

  /// The streams `reader` reads, by name, sorted by kind and id.
  std::vector<std::string> streams_of(const stream_reader& reader) const;

private:
  /// A stream's name as a number: its kind ("user", "app", "store",
  /// "merchant", "topic") in the top byte, its id below. Every local user
  /// reads a stream of its own: a number costs an idle connection about
  /// 100 bytes less than a name in the index and in its reader. A name of
  /// another shape (none is written today) is numbered in `others_`.
  std::optional<uint64_t> key(std::string_view name) const;
  /// Adds the items of `entries` past `after` to `out`, the output of
  /// fan-out number `batch`.
  void add_items(std::vector<fanned>& out, uint64_t batch,
                 const std::vector<storage::log_entry>& entries,
                 int64_t after) const;
  uint64_t key_adding(const std::string& name);
  std::string name_of(uint64_t key) const;

  std::unordered_map<uint64_t, std::vector<stream_reader*>> subscribers_;
  std::unordered_map<std::string, uint64_t> others_;
  mutable uint64_t batches_ = 0;
};

} // namespace herald::actors
