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
///
/// Wake-ups share turns. Each turn starts with a read, and a wake-up comes
/// per commit (a NOTIFY, an expander's batch): under load several wait in
/// the mailbox while a turn runs, and a turn for each found nothing the
/// first had not taken. A wake-up schedules a turn (turn_atom, behind what
/// is in the mailbox) unless one is scheduled already; that turn starts
/// after every wake-up before it, so its read sees their commits.
struct retry_loop {
  size_t failures = 0;
  std::string last_error;
  bool retry_scheduled = false;
  bool turn_scheduled = false;
  size_t wakes = 0; ///< wake-ups received
  size_t turns = 0; ///< turns run

  /// A wake-up: there may be work. A turn follows, shared with the
  /// wake-ups until it starts.
  template <class Self>
  void wake(Self* self) {
    ++wakes;
    if (turn_scheduled)
      return;
    turn_scheduled = true;
    self->send(self, turn_atom_v);
  }

  /// Runs one turn (on turn_atom, or the retry's tick_atom). `turn()`
  /// returns true when more is pending: another turn follows after the
  /// mailbox. On a failure `what` names the work in the log ("expansion"
  /// -> "expansion failed, retrying: ...") and a tick_atom follows after
  /// `delay`.
  template <class Self, class Turn>
  void run(Self* self, const char* what, caf::timespan delay, Turn&& turn) {
    turn_scheduled = false;
    ++turns;
    try {
      if (turn())
        wake(self);
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
