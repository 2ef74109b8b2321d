#pragma once

#include "core/fwd.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "actors/user/user_shard_actor.hpp"

namespace caf {
class actor_system;
} // namespace caf

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
  /// Heartbeats: a WebSocket ping, an SSE comment line, this often. They
  /// keep proxies from closing idle streams and find dead peers.
  std::chrono::milliseconds ping_interval{45000};
  /// A WebSocket that answers a ping with nothing for this long is
  /// dropped; an SSE socket whose bytes stay unacknowledged this long after
  /// a heartbeat is dropped by the kernel (TCP_USER_TIMEOUT). A dead peer
  /// goes within ping_interval + ping_timeout.
  std::chrono::milliseconds ping_timeout{10000};
  /// After a WebSocket session writes messages, what comes for it within
  /// this long waits and goes out together at its end: fewer, larger
  /// writes (system calls) for connections that get many messages a
  /// second, at up to this much latency each. Zero: every message is
  /// written as soon as it comes. heraldd's delivery.write-delay sets it
  /// (10 ms unless configured).
  std::chrono::microseconds write_delay{0};

  /// The running user shard that owns `user` (invalid while it restarts).
  actors::user_shard_actor shard_of(const actors::user_key& user) const;
};

/// A new process-wide session id.
uint64_t next_session_id();

} // namespace herald::net
