#pragma once

// The typed interface of an expander (expander_name(i), spawn_expander).

#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>

namespace herald::actors {

using expander_actor = caf::typed_actor<
  /// There may be new outbox rows (the outbox listener, its poll, or the
  /// expander itself with more pending): claim and expand them.
  caf::reacts_to<wake_atom>,
  /// Its own cue to run a turn, shared by the wake-ups before it.
  caf::reacts_to<turn_atom>,
  /// The retry after a failed batch (the expander's own timer).
  caf::reacts_to<tick_atom>,
  /// Describes the expander for the debug tree (JSON).
  caf::replies_to<inspect_atom>::with<std::string>>;

} // namespace herald::actors
