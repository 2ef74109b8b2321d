#pragma once

// Internal to net/api: the HTTP API as data. Each route names who may call
// it, what it takes, and the database function (schema/0006_http_api.sql)
// that does the work; http_api.cpp runs them all the same way.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::net::api {

/// Whose credentials a route takes.
enum class caller {
  admin, ///< the operator: Authorization: Bearer <admin.token>
  app,   ///< an application party: Authorization: Bearer <API key>
  user,  ///< an end user: a user token (docs/protocol.md)
};

enum class field_type {
  string,
  integer,
  boolean,
  object,
  string_list,
  object_list
};

/// What a route's request body holds.
enum class body_format {
  json,   ///< one JSON object whose fields are the route's `body`
  ndjson, ///< one JSON object per line, passed on as args.lines
};

/// A field of the JSON body or a query parameter.
struct field {
  std::string name;
  field_type type = field_type::string;
  bool required = false;
  int64_t min = 0; ///< integers only
  int64_t max = std::numeric_limits<int64_t>::max();
};

struct api_route {
  std::string method;
  std::string pattern; ///< {name} segments become string args (`id`: integer)
  caller who = caller::app;
  std::string function; ///< herald.<function>(app_id, args)
  unsigned status = 200;
  body_format format = body_format::json;
  std::vector<field> body;
  std::vector<field> query;
  nlohmann::json fixed = nlohmann::json::object(); ///< constant args
  bool idempotency_header = false; ///< Idempotency-Key → idempotency_key
  bool changes_apps = false;       ///< reload the app directory afterwards
  /// Turns the function's result into the response body (default: as is).
  std::function<nlohmann::json(nlohmann::json result,
                               const nlohmann::json& args)>
    finish;
};

/// Every route of docs/api.md. `mint_token` signs a user token for the
/// POST /v1/tokens route's finish step.
std::vector<api_route>
api_routes(std::function<nlohmann::json(nlohmann::json, const nlohmann::json&)>
             mint_token);

/// The media type of a Content-Type value, lower case, without
/// parameters ("application/json; charset=utf-8" → "application/json").
std::string media_type(std::string_view content_type);

/// The args of a request: path parameters, query parameters and body
/// fields checked against the route (throws api_error 400/415 naming the
/// field).
nlohmann::json request_args(const api_route& route,
                            const std::map<std::string, std::string>& params,
                            const std::map<std::string, std::string>& query,
                            std::optional<std::string_view> content_type,
                            const std::string& body);

} // namespace herald::net::api
