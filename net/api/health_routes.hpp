#pragma once

#include "core/fwd.hpp"
#include "net/router.hpp"

#include <memory>

namespace herald::net::api {

/// GET /healthz: 200 while the process serves requests.
/// GET /readyz: 200 when the database is reachable and migrated and the
/// apps are loaded (user tokens can be checked), else 503 with {"status":
/// "unavailable", "reason": ...}.
void add_health_routes(router& routes,
                       std::shared_ptr<const readiness_board> board,
                       std::shared_ptr<const app_directory> apps = nullptr);

} // namespace herald::net::api
