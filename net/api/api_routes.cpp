#include "net/api/api_route.hpp"

namespace herald::net::api {

namespace {

using ft = field_type;

field required(std::string name, ft type = ft::string) {
  return {std::move(name), type, true};
}

field optional(std::string name, ft type = ft::string) {
  return {std::move(name), type, false};
}

field page_limit() {
  return {"limit", ft::integer, false, 1, 200};
}

field cursor(std::string name) {
  return {std::move(name), ft::integer, false, 1};
}

std::vector<field> publish_body() {
  return {required("template"), required("targets", ft::string_list),
          optional("data", ft::object), optional("channels", ft::string_list),
          optional("priority")};
}

} // namespace

std::vector<api_route>
api_routes(std::function<nlohmann::json(nlohmann::json, const nlohmann::json&)>
             mint_token) {
  std::vector<api_route> r;
  auto add = [&](std::string method, std::string pattern, caller who,
                 std::string function) -> api_route& {
    api_route route;
    route.method = std::move(method);
    route.pattern = std::move(pattern);
    route.who = who;
    route.function = std::move(function);
    r.push_back(std::move(route));
    return r.back();
  };

  // The operator: apps, template approval, messages.
  auto& create_app =
    add("POST", "/v1/admin/apps", caller::admin, "api_create_app");
  create_app.status = 201;
  create_app.body = {required("name"),
                     optional("allowed_origins", ft::string_list),
                     optional("allowed_channels", ft::string_list)};
  create_app.changes_apps = true;
  add("GET", "/v1/admin/apps", caller::admin, "api_list_apps");
  add("GET", "/v1/admin/apps/{app}", caller::admin, "api_get_app");
  auto& update_app =
    add("PATCH", "/v1/admin/apps/{app}", caller::admin, "api_update_app");
  update_app.body = {optional("disabled", ft::boolean),
                     optional("allowed_origins", ft::string_list),
                     optional("allowed_channels", ft::string_list)};
  update_app.changes_apps = true;
  add("POST", "/v1/admin/apps/{app}/api-key", caller::admin,
      "api_rotate_api_key")
    .changes_apps = true;
  add("POST", "/v1/admin/apps/{app}/token-secret", caller::admin,
      "api_rotate_token_secret")
    .changes_apps = true;
  add("GET", "/v1/admin/templates", caller::admin, "api_admin_templates")
    .query = {optional("status"), optional("app")};
  auto& approve = add("POST", "/v1/admin/templates/{id}/approve", caller::admin,
                      "api_decide_template");
  approve.body = {optional("reason")};
  approve.fixed = {{"decision", "approved"}};
  auto& reject = add("POST", "/v1/admin/templates/{id}/reject", caller::admin,
                     "api_decide_template");
  reject.body = {required("reason")};
  reject.fixed = {{"decision", "rejected"}};
  auto& test_message = add("POST", "/v1/admin/apps/{app}/messages",
                           caller::admin, "api_admin_publish");
  test_message.status = 202;
  test_message.body = publish_body();
  add("GET", "/v1/admin/messages", caller::admin, "api_admin_messages")
    .query = {optional("app"),
              optional("state"),
              cursor("before"),
              {"after", ft::integer, false, 0},
              page_limit()};
  add("GET", "/v1/admin/messages/{id}", caller::admin, "api_admin_message");
  // SMS and mobile: providers hold credentials, so only the operator sets
  // them.
  add("GET", "/v1/admin/apps/{app}/providers/{channel}", caller::admin,
      "api_get_provider");
  add("PUT", "/v1/admin/apps/{app}/providers/{channel}", caller::admin,
      "api_put_provider")
    .body = {optional("kind"),
             required("url"),
             optional("auth_header"),
             optional("body_shape", ft::object),
             {"rate_per_second", ft::integer, false, 1, 100000},
             {"max_attempts", ft::integer, false, 1, 100},
             {"timeout_ms", ft::integer, false, 100, 120000}};
  add("DELETE", "/v1/admin/apps/{app}/providers/{channel}", caller::admin,
      "api_delete_provider");
  add("GET", "/v1/admin/channels", caller::admin, "api_admin_channels")
    .query = {optional("app")};

  // Application parties, with their API key.
  auto& apply = add("POST", "/v1/templates", caller::app, "api_apply_template");
  apply.status = 201;
  apply.body = {
    required("code"),         optional("locale"),
    optional("message_type"), optional("web_title"),
    optional("web_body"),     optional("sms_body"),
    optional("mobile_title"), optional("mobile_body"),
    optional("digest_body"),  optional("required_vars", ft::string_list)};
  add("GET", "/v1/templates", caller::app, "api_templates").query = {
    optional("status")};
  add("PUT", "/v1/merchants/{merchant}", caller::app, "api_put_merchant")
    .body = {optional("name")};
  add("PUT", "/v1/stores/{store}", caller::app, "api_put_store").body = {
    required("merchant"), optional("name")};
  add("PUT", "/v1/users/{user}", caller::app, "api_put_user").body = {
    optional("merchant"), optional("time_zone"), optional("phone"),
    optional("locale")};
  add("PUT", "/v1/stores/{store}/members/{user}", caller::app,
      "api_put_membership");
  add("DELETE", "/v1/stores/{store}/members/{user}", caller::app,
      "api_delete_membership");
  add("PUT", "/v1/topics/{topic}", caller::app, "api_put_topic");
  add("PUT", "/v1/topics/{topic}/subscribers/{user}", caller::app,
      "api_put_subscription");
  add("DELETE", "/v1/topics/{topic}/subscribers/{user}", caller::app,
      "api_delete_subscription");
  // Many principals at once: the routes above in bulk, one NDJSON line
  // each.
  add("POST", "/v1/import", caller::app, "api_import").format =
    body_format::ndjson;
  auto& publish = add("POST", "/v1/messages", caller::app, "api_publish");
  publish.status = 202;
  publish.body = publish_body();
  publish.idempotency_header = true;
  add("GET", "/v1/messages/{id}", caller::app, "api_message");
  auto& token = add("POST", "/v1/tokens", caller::app, "api_token_secret");
  token.status = 201;
  token.body = {required("user"),
                {"ttl_seconds", ft::integer, false, 60, 7 * 24 * 3600}};
  token.finish = std::move(mint_token);

  // End users, with a user token.
  add("GET", "/v1/me/messages", caller::user, "api_my_messages").query = {
    cursor("before"), page_limit(), optional("unread", ft::boolean)};
  add("POST", "/v1/me/messages/{id}/read", caller::user, "api_mark_read");
  add("GET", "/v1/me/preferences", caller::user, "api_my_preferences");
  add("PUT", "/v1/me/preferences", caller::user, "api_put_my_preferences")
    .body = {optional("time_zone"), optional("preferences", ft::object_list)};
  add("GET", "/v1/me/devices", caller::user, "api_my_devices");
  auto& device =
    add("POST", "/v1/me/devices", caller::user, "api_register_device");
  device.status = 201;
  device.body = {required("token"), optional("platform")};
  add("DELETE", "/v1/me/devices/{token}", caller::user,
      "api_unregister_device");
  return r;
}

} // namespace herald::net::api
