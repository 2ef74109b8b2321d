#pragma once

#include <cstdint>
#include <string>

namespace herald::bench {

/// One simulated client, whatever it speaks; the pool paces and counts
/// them through this.
class client {
public:
  virtual ~client() = default;

  /// Connects (again), resuming where the protocol allows.
  virtual void start() = 0;
  /// Closes the socket abruptly, as a lost network does; on_down follows.
  virtual void drop() = 0;
  /// Queues a frame to send (publishers on WebSocket only).
  virtual void send(std::string frame) = 0;

  virtual int64_t last_seq() const = 0;
  virtual bool ready() const = 0;
};

} // namespace herald::bench
