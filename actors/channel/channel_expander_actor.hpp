#pragma once

// The typed interface of the channel expander (names::channel_expander,
// spawn_channel_expander).

#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>

namespace herald::actors {

using channel_expander_actor = caf::typed_actor<
  /// Messages with sms or mobile texts may be in the log (an expander
  /// here, the log listener, its poll): write their deliveries.
  caf::reacts_to<wake_atom>,
  /// Its own cue to run a turn, shared by the wake-ups before it.
  caf::reacts_to<turn_atom>,
  /// The retry after a failed batch (its own timer).
  caf::reacts_to<tick_atom>,
  /// Describes the channel expander for the debug tree (JSON).
  caf::replies_to<inspect_atom>::with<std::string>>;

} // namespace herald::actors
