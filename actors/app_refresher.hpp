#pragma once

#include "core/fwd.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include <memory>
#include <string>

namespace herald::actors {

/// Spawns (detached: it reads the database) the actor that reloads the
/// apps into `directory` every `interval`, so that sessions authenticate
/// against secrets and origins that are at most that old.
caf::actor spawn_app_refresher(caf::event_based_actor* parent,
                               std::string database_url, caf::timespan interval,
                               std::shared_ptr<app_directory> directory);

} // namespace herald::actors
