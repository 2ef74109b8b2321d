#pragma once

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <cstdint>
#include <string>

namespace herald::actors {

/// Spawns the actor of one template (app, code). It answers render_request
/// with render_result, compiling a version the first time it sees it and
/// keeping the compiled form until another version arrives. Answers
/// inspect_atom with its state as JSON.
caf::actor spawn_template_actor(caf::event_based_actor* parent, int64_t app_id,
                                std::string code);

} // namespace herald::actors
