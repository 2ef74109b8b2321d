#pragma once

// Internal to net/stream: the deadlines of one I/O thread's sessions.

#include "net/detail/connection_executor.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <vector>

namespace herald::net {

/// The deadlines of one I/O thread's sessions, by the whole second, on one
/// timer. A timer per session with a wait always pending was about 200
/// bytes per idle connection (the timer, its pending operation and its
/// place in the reactor's heap); here a session's deadline is a weak
/// pointer in the second's list. Keepalive deadlines are whole seconds
/// already (keepalive_clock.hpp), so sessions due together are woken in
/// one go, as before.
class deadline_wheel {
public:
  using clock = std::chrono::steady_clock;

  class owner {
  public:
    /// The deadline `due` came: the owner ignores it unless it is the
    /// last it set.
    virtual void on_deadline(clock::time_point due) = 0;

  protected:
    ~owner() = default;
  };

  /// The wheel of the calling I/O thread; `executor` is its io_context's.
  /// Only that thread may use it.
  static deadline_wheel& here(const detail::connection_executor& executor);

  /// `who` hears on_deadline at `at` rounded up to a whole second, which
  /// this returns. A deadline set before stays in the wheel until due: the
  /// owner tells them apart by the time.
  clock::time_point schedule(std::weak_ptr<owner> who, clock::time_point at);

  explicit deadline_wheel(const detail::connection_executor& executor);

private:
  void arm();
  void on_tick();

  std::map<clock::time_point, std::vector<std::weak_ptr<owner>>> due_;
  detail::session_timer timer_;
  clock::time_point armed_for_ = clock::time_point::max();
};

} // namespace herald::net
