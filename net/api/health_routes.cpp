#include "net/api/health_routes.hpp"

#include "core/readiness.hpp"

#include <nlohmann/json.hpp>

namespace herald::net::api {

void add_health_routes(router& routes,
                       std::shared_ptr<const readiness_board> board) {
  routes.add("GET", "/healthz", [](http_request&, responder respond) {
    respond(json_response(200, R"({"status":"ok"})"));
  });
  routes.add("GET", "/readyz", [board](http_request&, responder respond) {
    auto state = board->get();
    nlohmann::json body{{"status", state.ready ? "ready" : "unavailable"},
                        {"reason", state.reason}};
    respond(json_response(state.ready ? 200 : 503, body.dump()));
  });
}

} // namespace herald::net::api
