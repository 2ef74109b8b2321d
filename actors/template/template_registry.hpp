#pragma once

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

namespace herald::actors {

/// Spawns the template registry: it registers itself under
/// names::templates, starts one template actor per (app, code) when the
/// first render_request for it arrives, delegates each request to that
/// actor, and forgets actors that exit (the next request starts a new one,
/// recompiled from the source the request carries). (crash_atom, app_id,
/// code) makes that template actor fail, for fault-injection tests.
caf::actor spawn_template_registry(caf::event_based_actor* parent);

} // namespace herald::actors
