#pragma once

// Messages of the delivery side: sessions (in net/) to user shards, shards
// to user actors, user actors to the inbox workers. All stay in-process.

#include "actors/user/session_sink.hpp"
#include "core/delivery.hpp"
#include "storage/expansion.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <cstdint>
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
struct attach_session {
  user_key user;
  session_ptr session;
  int64_t last_seq = 0;
  bool poll = false;
  bool immediate = false;
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

/// Deliveries for the users of one shard, or of one user.
struct user_deliveries {
  std::vector<storage::new_delivery> deliveries;
};

/// To an inbox worker: the user's id and last seq (user_id 0: unknown).
struct load_user {
  user_key user;
};

/// To an inbox worker: up to `limit` deliveries after `after`.
struct load_after {
  int64_t user_id = 0;
  int64_t after = 0;
  size_t limit = 0;
};

/// To an inbox worker: persist progress (0: nothing new of that kind).
struct persist_progress {
  int64_t user_id = 0;
  int64_t sent_seq = 0;
  int64_t acked_seq = 0;
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::user_deliveries)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::load_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::load_after)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::persist_progress)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::persist_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::user_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<herald::delivery>)
