#pragma once

// The typed interface of the inbox (names::inbox, spawn_inbox_workers): the
// only way user actors and shards reach the database.

#include "actors/fwd.hpp"
#include "actors/type_ids.hpp"
#include "core/fwd.hpp"
#include "storage/fwd.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>
#include <vector>

namespace herald::actors {

using inbox_actor = caf::typed_actor<
  /// What the user is (id 0 when it does not exist); batched with the
  /// loads of other users.
  caf::replies_to<load_user>::with<storage::inbox_user>,
  /// A user's feed in (after, through], within the read's budgets, and
  /// how far that is complete; batched.
  caf::replies_to<load_feed>::with<storage::feed_read>,
  /// The counts of the current hour the hourly caps start from.
  caf::replies_to<load_cap_counts>::with<std::vector<cap_count>>,
  /// The cursors of many users in one statement; a failure is only logged
  /// (lost progress means a resend, which clients dedup).
  caf::reacts_to<persist_cursors>,
  /// Marks a message read; false when the user has no such message.
  caf::replies_to<persist_read>::with<bool>,
  /// Describes the pool for the debug tree (JSON).
  caf::replies_to<inspect_atom>::with<std::string>>;

} // namespace herald::actors
