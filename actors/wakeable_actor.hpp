#pragma once

// What every actor woken by a listener or an expander handles: the part of
// its typed interface that a waker needs, looked up by registry name.

#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace herald::actors {

using wakeable_actor = caf::typed_actor<
  /// There may be new work (outbox rows, log entries): look now.
  caf::reacts_to<wake_atom>>;

} // namespace herald::actors
