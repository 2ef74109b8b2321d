#pragma once

#include <atomic>
#include <chrono>
#include <csignal>

namespace herald::tools {

/// SIGINT and SIGTERM as a shutdown request. Construct it first in main,
/// before any thread exists: it blocks both signals so that every thread
/// inherits the mask and only wait()/wait_for() ever take them.
class shutdown_signal {
public:
  shutdown_signal();

  /// Blocks until a signal arrives or notify() is called.
  void wait();

  /// Like wait() for at most `timeout`; true when shutdown was requested.
  bool wait_for(std::chrono::milliseconds timeout);

  /// Requests shutdown from inside the process (any thread).
  void notify() { notified_ = true; }

  /// True when a real signal (not notify) has been received.
  bool received() const { return received_; }

private:
  sigset_t set_;
  std::atomic<bool> notified_{false};
  std::atomic<bool> received_{false};
};

} // namespace herald::tools
