#include "net/api/health_routes.hpp"

#include "core/app_directory.hpp"
#include "core/readiness.hpp"

#include <nlohmann/json.hpp>

namespace herald::net::api {

void add_health_routes(router& routes,
                       std::shared_ptr<const readiness_board> board,
                       std::shared_ptr<const app_directory> apps) {
  routes.add("GET", "/healthz", [](http_request&, responder respond) {
    respond(json_response(200, R"({"status":"ok"})"));
  });
  routes.add("GET", "/readyz", [board, apps](http_request&, responder respond) {
    auto state = board->get();
    if (state.ready && apps && !apps->loaded())
      state = {false, "loading the apps"};
    nlohmann::json body{{"status", state.ready ? "ready" : "unavailable"},
                        {"reason", state.reason}};
    respond(json_response(state.ready ? 200 : 503, body.dump()));
  });
}

} // namespace herald::net::api
