#pragma once

// The typed interface of the tailer (names::tailer, spawn_tailer).

#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>

namespace herald::actors {

using tailer_actor = caf::typed_actor<
  /// New log entries may be committed (an expander here, the log
  /// listener, its poll): read past the cursor and hand out.
  caf::reacts_to<wake_atom>,
  /// Its own cue to run a turn, shared by the wake-ups before it.
  caf::reacts_to<turn_atom>,
  /// The retry after a failed read (the tailer's own timer).
  caf::reacts_to<tick_atom>,
  /// Describes the tailer for the debug tree (JSON).
  caf::replies_to<inspect_atom>::with<std::string>>;

} // namespace herald::actors
