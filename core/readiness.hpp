#pragma once

#include <mutex>
#include <string>

namespace herald {

/// Whether the engine can do its work, and if not, why. Written by the health
/// monitor actor, read by HTTP handlers on other threads.
class readiness_board {
public:
  struct snapshot {
    bool ready = false;
    std::string reason;
  };

  readiness_board() : state_{false, "starting"} {}

  void set(bool ready, std::string reason) {
    std::lock_guard<std::mutex> guard{mutex_};
    state_.ready = ready;
    state_.reason = std::move(reason);
  }

  snapshot get() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return state_;
  }

private:
  mutable std::mutex mutex_;
  snapshot state_;
};

} // namespace herald
