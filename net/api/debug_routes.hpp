#pragma once

#include "core/fwd.hpp"
#include "net/router.hpp"

#include <caf/actor.hpp>

#include <functional>
#include <memory>
#include <string>

namespace caf {
class actor_system;
} // namespace caf

namespace herald::storage {
class api_gateway;
} // namespace herald::storage

namespace herald::net {
struct stream_context;
class admin_guard;
} // namespace herald::net

namespace herald::net::api {

/// What the debug endpoints look into.
struct debug_context {
  caf::actor_system* system = nullptr;
  /// The root supervisor once the engine runs (invalid before).
  std::function<caf::actor()> root;
  std::shared_ptr<const stream_context> streams;
  std::shared_ptr<const app_directory> apps;
  /// For the database half of message traces.
  std::shared_ptr<storage::api_gateway> database;
  /// The admin token check (shared with the admin API's routes).
  std::shared_ptr<admin_guard> admin;
};

/// The operator's view into the running engine (admin token): the actor
/// tree, one user's live sessions, a message's trace from outbox row to
/// each session, fault injection into a user actor, and GET /metrics in
/// the Prometheus text format. For the admin listener only.
void add_debug_routes(router& routes, std::shared_ptr<debug_context> ctx);

} // namespace herald::net::api
