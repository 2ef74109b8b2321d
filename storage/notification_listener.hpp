#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace herald::storage {

/// A connection that LISTENs on one or more channels. Notifications are
/// wake-ups only: their payload is ignored. Blocking: run it in a detached
/// actor.
class notification_listener {
public:
  /// `application_name` labels the connection in pg_stat_activity.
  notification_listener(std::string database_url,
                        std::vector<std::string> channels,
                        std::string application_name);
  ~notification_listener();

  notification_listener(const notification_listener&) = delete;
  notification_listener& operator=(const notification_listener&) = delete;

  /// Notifications on `channel` sent by a server process for which
  /// `sender` is true are not counted by wait(). Set before listening.
  void ignore_senders(const std::string& channel,
                      std::function<bool(int pid)> sender);

  /// Connects and LISTENs unless already listening. True when it did so
  /// now: notifications sent before that moment were missed, so the caller
  /// must catch up. Throws storage::error(unreachable).
  bool ensure_listening();

  /// Waits up to `timeout` for notifications; which channels had any,
  /// aligned with the channels given (all false: the timeout passed).
  /// After a broken connection throws storage::error(unreachable); the
  /// next ensure_listening() reconnects.
  std::vector<bool> wait(std::chrono::milliseconds timeout);

  /// The server process of the listening connection (0 when not connected).
  int backend_pid() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
