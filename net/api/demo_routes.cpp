#include "net/api/demo_routes.hpp"

#include "core/app_directory.hpp"
#include "core/jwt.hpp"
#include "net/auth.hpp"

#include <nlohmann/json.hpp>

namespace herald::net::api {

void add_demo_routes(router& routes, std::shared_ptr<const app_directory> apps,
                     std::string app, std::chrono::seconds ttl) {
  routes.add(
    "POST", "/v1/demo/token",
    [apps = std::move(apps), app = std::move(app), ttl](http_request& req,
                                                        responder respond) {
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body.contains("user") ||
          !body["user"].is_string() || body["user"].get<std::string>().empty())
        return respond(
          json_error(400, "bad_field", "user: the user's id, a string"));
      auto info = apps->find(app);
      if (!info || info->disabled)
        return respond(
          json_error(503, "unavailable",
                     "the demo app '" + app + "' does not exist (yet)"));
      auto now = unix_now();
      auto expires = now + ttl.count();
      nlohmann::json claims{
        {"sub", body["user"]}, {"aud", app}, {"iat", now}, {"exp", expires}};
      respond(json_response(
        200,
        nlohmann::json{{"token", jwt::sign_hs256(claims, info->token_secret)},
                       {"user", body["user"]},
                       {"expires_at", expires}}
          .dump()));
    });
}

} // namespace herald::net::api
