#include "tools/heraldd/signals.hpp"

#include <pthread.h>

#include <algorithm>

namespace herald::tools {

namespace {

// How often a waiter looks at the notify flag between signals.
constexpr std::chrono::milliseconds poll_interval{100};

} // namespace

shutdown_signal::shutdown_signal() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

bool shutdown_signal::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!notified_ && !received_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    auto slice = std::min(left, poll_interval);
    timespec ts{static_cast<time_t>(slice.count() / 1000),
                static_cast<long>((slice.count() % 1000) * 1000000)};
    if (sigtimedwait(&set_, nullptr, &ts) > 0)
      received_ = true;
  }
  return true;
}

void shutdown_signal::wait() {
  while (!wait_for(std::chrono::hours{1})) {
  }
}

} // namespace herald::tools
