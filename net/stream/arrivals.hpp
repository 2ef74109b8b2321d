#pragma once

#include "core/delivery.hpp"

#include <atomic>
#include <vector>

namespace herald::net {

/// Deliveries handed to a streaming session (from the user's actor or its
/// shard, on any thread) until the session's I/O thread takes them. The
/// first one after a take asks for a post; later ones join it, so a session
/// whose I/O thread is behind writes what piled up at once instead of once
/// each.
class arrivals {
public:
  /// Adds `batch`, after what is there; true when the caller must post a
  /// take (none is on its way).
  bool add(std::vector<delivery> batch);

  /// Everything added since the last take, in order; the next add asks for
  /// a post again.
  std::vector<delivery> take();

private:
  // Held for a move or an append: a mutex would not fit a session's
  // allocation class.
  std::vector<delivery> items_;
  std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
  bool take_posted_ = false;
};

} // namespace herald::net
