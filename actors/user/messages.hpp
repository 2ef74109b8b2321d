#pragma once

// Messages of the delivery side: sessions (in net/) to user shards, the
// tailer to shards, shards to user actors, user actors to the inbox
// workers. All stay in-process.

#include "actors/user/pushed_delivery.hpp"
#include "actors/user/session_sink.hpp"
#include "core/delivery.hpp"
#include "storage/inbox_store.hpp"
#include "storage/log_entry.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace herald::actors {

/// Identifies a user actor: the app and the user's id in it.
struct user_key {
  int64_t app_id = 0;
  std::string external_id;

  friend bool operator<(const user_key& a, const user_key& b) {
    return a.app_id != b.app_id ? a.app_id < b.app_id
                                : a.external_id < b.external_id;
  }
  friend bool operator==(const user_key& a, const user_key& b) {
    return a.app_id == b.app_id && a.external_id == b.external_id;
  }
};

/// A new session of a user. `last_seq` is what the client already has.
/// A poll session is answered once and then forgotten; an `immediate` poll
/// is answered as soon as the user's state is known, even with nothing.
/// When the shard wakes a passive user, it reattaches each session with
/// what it pushed meanwhile and is still unacknowledged (`in_flight`):
/// what of it the session was sent is in flight there.
struct attach_session {
  user_key user;
  session_ptr session;
  int64_t last_seq = 0;
  bool poll = false;
  bool immediate = false;
  std::shared_ptr<const pushed_deliveries> in_flight = nullptr;
};

/// The session closed.
struct detach_session {
  user_key user;
  uint64_t session_id = 0;
};

/// The client of `session_id` has everything up to `seq`.
struct client_ack {
  user_key user;
  uint64_t session_id = 0;
  int64_t seq = 0;
};

/// The user read message `message_id` (from any session, or the HTTP API).
struct client_read {
  user_key user;
  uint64_t session_id = 0;
  int64_t message_id = 0;
};

/// To every user shard, from the tailer: the next entries of the stream
/// log, shared (read once, fanned out in memory).
struct tailed {
  std::shared_ptr<const storage::log_batch> batch;
};

/// One position of a user's feed as the shard hands it on: a message, or a
/// control entry (no message) saying the user's streams or preferences
/// changed.
struct feed_item {
  int64_t position = 0;
  std::shared_ptr<const storage::message_content> message;
};

/// To a user actor, from its shard: its new feed items, in position order.
struct feed_items {
  std::vector<feed_item> items;
};

/// To the shard, from a user actor: route these streams to me. Answers the
/// position after which everything will arrive live.
struct subscribe {
  user_key user;
  std::vector<std::string> streams;
};

/// To the shard, from a user actor: how far the user's clients have been
/// sent and acknowledged, for the next batched cursor write.
struct user_progress {
  int64_t user_id = 0;
  int64_t sent = 0;
  int64_t acked = 0;
};

struct user_snapshot;

/// To the shard, from a user actor with nothing of its own to do for a
/// while: it would stop, leaving `snapshot` with the shard; `handled`
/// counts the shard's messages it has taken. What its sessions have in
/// flight (every session was sent the same) goes along: `pushed`, and
/// where each session's client has acknowledged (`acked`, by session id).
/// Answers true when the shard took it (nothing the shard sent is still on
/// its way to the actor): the actor stops, the shard pushes to the
/// sessions itself and takes their acks, and starts the actor again from
/// the snapshot when only the actor can go on.
struct passivate_request {
  user_key user;
  uint64_t handled = 0;
  std::shared_ptr<user_snapshot> snapshot;
  std::shared_ptr<const pushed_deliveries> pushed;
  std::vector<std::pair<uint64_t, int64_t>> acked;
};

/// To an inbox worker: what the user is (answers storage::inbox_user; id 0
/// when the user does not exist).
struct load_user {
  user_key user;
};

/// To an inbox worker: read this range of a user's feed (answers
/// storage::feed_read).
struct load_feed {
  storage::feed_range range;
};

/// To an inbox worker: the counts the hourly cap starts from (answers
/// std::vector<cap_count>).
struct load_cap_counts {
  int64_t user_id = 0;
  int64_t through = 0;
};

/// To an inbox worker: persist the cursors of many users at once.
struct persist_cursors {
  std::vector<storage::cursor_update> updates;
};

/// To an inbox worker: mark a message read; answers bool.
struct persist_read {
  int64_t user_id = 0;
  int64_t message_id = 0;
};

} // namespace herald::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::attach_session)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::detach_session)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::client_ack)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::client_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::tailed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::feed_items)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::subscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::user_progress)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::passivate_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::load_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::load_feed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::load_cap_counts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::persist_cursors)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<herald::cap_count>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::persist_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::user_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::storage::inbox_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::storage::feed_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<herald::delivery>)
