#pragma once

#include "actors/type_ids.hpp"

#include <caf/timespan.hpp>

#include <cstddef>
#include <exception>
#include <string>

namespace herald::actors {

/// The wake-up loop of an actor that works through the database until
/// nothing is left (the expanders, the tailer, the channel expander): a
/// turn that throws is counted, logged, and tried again after a delay, with
/// one retry scheduled at a time however many wake-ups fail meanwhile.
struct retry_loop {
  size_t failures = 0;
  std::string last_error;
  bool retry_scheduled = false;

  /// Runs one turn on a wake-up. `turn()` returns true when more is
  /// pending: the actor then wakes itself again after its mailbox. On a
  /// failure `what` names the work in the log ("expansion" -> "expansion
  /// failed, retrying: ...") and a tick_atom follows after `delay`.
  template <class Self, class Turn>
  void run(Self* self, const char* what, caf::timespan delay, Turn&& turn) {
    try {
      if (turn())
        self->send(self, wake_atom_v);
    } catch (const std::exception& e) {
      if (failed(what, e))
        self->delayed_send(self, delay, tick_atom_v);
    }
  }

  /// The tick_atom arrived: a later failure schedules a retry again.
  void on_tick() { retry_scheduled = false; }

private:
  /// Counts and logs the failure; true when a retry is to be scheduled.
  bool failed(const char* what, const std::exception& e);
};

} // namespace herald::actors
