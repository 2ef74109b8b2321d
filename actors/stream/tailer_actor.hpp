#pragma once

// The typed interface of the tailer (names::tailer, spawn_tailer).

#include "actors/type_ids.hpp"
#include "storage/log_entry.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>
#include <string>

namespace herald::actors {

/// The entries an expander of this engine has just committed: consecutive
/// positions with every one below them committed (storage::batch_result).
struct expanded_here {
  std::shared_ptr<const storage::log_batch> batch;
};

using tailer_actor = caf::typed_actor<
  /// New log entries may be committed (the log listener, its poll): read
  /// past the cursor and hand out.
  caf::reacts_to<wake_atom>,
  /// An expander here committed these entries: handed out as they are
  /// when they follow the cursor, else a wake-up.
  caf::reacts_to<expanded_here>,
  /// Its own cue to run a turn, shared by the wake-ups before it.
  caf::reacts_to<turn_atom>,
  /// The retry after a failed read (the tailer's own timer).
  caf::reacts_to<tick_atom>,
  /// Describes the tailer for the debug tree (JSON).
  caf::replies_to<inspect_atom>::with<std::string>>;

} // namespace herald::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::expanded_here)
