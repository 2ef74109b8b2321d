#pragma once

#include "core/delivery.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace herald::actors {

/// How a user actor reaches one client session (a WebSocket, an SSE stream
/// or one long-poll request). Implemented in net/; every call is
/// thread-safe and returns at once (the session posts onto its strand).
/// User actors hold sessions weakly: a session's life is its connection's.
class session_sink {
public:
  virtual ~session_sink() = default;

  /// The user is known: the session resumes after `resume_from` (what the
  /// client claimed, or less when that is past the newest position of the
  /// user's feed, `newest`). Comes before any deliver; a session heeds only
  /// the first (a restarted user actor says it again).
  virtual void welcome(int64_t resume_from, int64_t newest) = 0;

  /// Writes these deliveries, in order. A long-poll session answers its
  /// request with them and is done. Within a handoff_scope
  /// (core/handoff_scope.hpp), a stream session's I/O thread is handed
  /// them when the scope ends, with the other sessions' of that thread.
  virtual void deliver(std::vector<delivery> batch) = 0;

  /// Sends an error frame (where the transport has one) and keeps going.
  virtual void report(const std::string& code, const std::string& message) = 0;

  /// Closes the session with a herald.v1 close code.
  virtual void close(uint16_t code, const std::string& reason) = 0;

  /// "websocket", "sse" or "poll".
  virtual const char* transport() const = 0;

  /// The peer's address, for the debug tool.
  virtual std::string remote_address() const = 0;

  /// Bytes written to the session but not yet on the wire.
  virtual size_t queued_bytes() const = 0;

  /// The highest seq the client has acknowledged on this session (or said
  /// it had when it connected): where a restarted user actor resumes it.
  virtual int64_t acked_seq() const = 0;

  /// The highest seq ever handed to this session, by any incarnation of
  /// the user actor (or the position it resumed at): an ack up to it is
  /// genuine even when the current actor did not send it itself.
  virtual int64_t sent_seq() const = 0;

  /// A process-wide unique id.
  virtual uint64_t id() const = 0;
};

using session_ptr = std::shared_ptr<session_sink>;
using weak_session_ptr = std::weak_ptr<session_sink>;

} // namespace herald::actors
