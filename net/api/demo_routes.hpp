#pragma once

#include "core/fwd.hpp"
#include "net/router.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace herald::net::api {

/// For development and the demo page only (web.demo-app): POST
/// /v1/demo/token {"user": ...} mints a user token of `app` for anyone who
/// asks — what an app's own backend does after its login. Never configure
/// it for an app with real users.
void add_demo_routes(router& routes, std::shared_ptr<const app_directory> apps,
                     std::string app, std::chrono::seconds ttl);

} // namespace herald::net::api
