#pragma once

#include "core/fwd.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>

namespace caf {
class actor_system;
} // namespace caf

namespace herald::actors {
struct user_key;
} // namespace herald::actors

namespace herald::net {

/// What the streaming transports (WebSocket, SSE, long-poll) share: where
/// the user shards are, the apps to authenticate against, and the limits.
struct stream_context {
  caf::actor_system* system = nullptr;
  size_t user_shards = 1;
  std::shared_ptr<const app_directory> apps;
  /// Largest client frame; bigger ones close the WebSocket with 1009.
  size_t max_frame_bytes = 64 * 1024;
  /// Bytes queued for one session before it is closed as a slow consumer.
  size_t max_queued_bytes = 4 * 1024 * 1024;
  /// A write the client does not take within this long marks it a slow
  /// consumer: the session is closed (it resumes later from the database).
  std::chrono::seconds write_timeout{10};
  /// A WebSocket that has not said hello by then is closed.
  std::chrono::seconds hello_timeout{10};
  /// The longest a long-poll waits, whatever the client asks for.
  std::chrono::seconds max_poll_wait{60};
  /// An SSE comment line keeps idle streams (and proxies) alive.
  std::chrono::seconds sse_keepalive{15};

  /// The running user shard that owns `user` (invalid while it restarts).
  caf::actor shard_of(const actors::user_key& user) const;
};

/// A new process-wide session id.
uint64_t next_session_id();

} // namespace herald::net
