// HTTP API requests as any client may send them, from the request target to
// the args handed to the database: parse_target, the router with every
// route of docs/api.md, and request_args.
//
// Input: "METHOD target" on the first line, the Content-Type on the second
// (an empty line: none), the body after it.

#include "core/api_error.hpp"
#include "fuzz_support.hpp"
#include "net/api/api_route.hpp"
#include "net/router.hpp"

namespace {

using namespace herald;
using namespace herald::net;
using herald::fuzz::check;
using json = nlohmann::json;

bool has_type(const json& value, api::field_type type) {
  using ft = api::field_type;
  auto all = [&value](json::value_t t) {
    if (!value.is_array())
      return false;
    for (const auto& item : value)
      if (item.type() != t)
        return false;
    return true;
  };
  switch (type) {
    case ft::string:
      return value.is_string();
    case ft::integer:
      return value.is_number_integer();
    case ft::boolean:
      return value.is_boolean();
    case ft::object:
      return value.is_object();
    case ft::string_list:
      return all(json::value_t::string);
    case ft::object_list:
      return all(json::value_t::object);
  }
  return false;
}

// What http_api.cpp relies on: args it can dump() for the database, or an
// api_error it answers with a 4xx.
void check_args(const api::api_route& route, const http_request& req) {
  json args;
  try {
    args = api::request_args(route, req.params, req.query,
                             req.header("content-type"), req.body);
  } catch (const api_error& e) {
    check(e.status() == 400 || e.status() == 415, "refusals are 400 or 415");
    check(!e.code().empty(), "refusals have a code");
    // http_api.cpp's error_response dumps the message strictly.
    (void)json{{"message", e.what()}}.dump();
    return;
  }
  check(args.is_object(), "args: an object");
  // Throws on invalid UTF-8: the database call would fail with a 500.
  (void)args.dump();
  for (const auto& f : route.body) {
    auto it = args.find(f.name);
    check(it != args.end() || !f.required, "args: required fields present");
    if (it != args.end() && !route.fixed.contains(f.name))
      check(has_type(*it, f.type), "args: body fields have their type");
  }
  for (const auto& f : route.query) {
    auto it = args.find(f.name);
    if (it == args.end() || route.fixed.contains(f.name))
      continue;
    check(has_type(*it, f.type), "args: query fields have their type");
    if (f.type == api::field_type::integer)
      check(*it >= f.min && *it <= f.max, "args: integers within range");
  }
  if (auto id = args.find("id"); id != args.end() && req.params.count("id"))
    check(id->is_number_integer() && *id >= 0, "args: id an integer >= 0");
}

struct api_router {
  std::vector<api::api_route> routes;
  router r;

  api_router() : routes(api::api_routes({})) {
    for (const auto& route : routes)
      r.add(route.method, route.pattern,
            [&route](http_request& req, const responder& respond) {
              check_args(route, req);
              respond(http_response{});
            });
  }
};

std::string_view next_line(std::string_view& rest) {
  const auto end = rest.find('\n');
  const auto line = rest.substr(0, end);
  rest =
    end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  return line;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const api_router api;
  auto rest = fuzz::as_text(data, size);
  const auto request_line = next_line(rest);
  const auto content_type = next_line(rest);

  http_request req;
  const auto space = request_line.find(' ');
  if (space == std::string_view::npos)
    return 0;
  req.method = std::string{request_line.substr(0, space)};
  // Beast's parser lets only token characters (RFC 7230 §3.2.6) through.
  constexpr std::string_view tchar = "!#$%&'*+-.^_`|~0123456789"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "abcdefghijklmnopqrstuvwxyz";
  if (req.method.empty() ||
      req.method.find_first_not_of(tchar) != std::string::npos)
    return 0;
  req.target = std::string{request_line.substr(space + 1)};
  if (!parse_target(req.target, req.path, req.query)) {
    check(req.target.empty() || req.target.front() != '/' ||
            req.target.find('%') != std::string::npos,
          "parse_target: refuses only bad percent escapes or no leading /");
    return 0;
  }
  check(req.target.find('?') != std::string::npos ||
          req.target.find('%') != std::string::npos || req.path == req.target,
        "parse_target: a plain path is kept as it is");
  if (!content_type.empty())
    req.headers.emplace_back("content-type", std::string{content_type});
  req.body = std::string{rest};

  unsigned status = 0;
  try {
    api.r.dispatch(req, [&status](http_response res) { status = res.status; });
  } catch (const json::type_error&) {
    // Known, in net/http_types.cpp: json_error() dumps strictly, so the 404
    // or 405 for a path that is not UTF-8 throws (the session answers 500).
    // Tolerated here so that the fuzzer gets past it to request_args.
    check(!fuzz::is_utf8(req.path), "router: only non-UTF-8 paths throw");
    return 0;
  }
  check(status == 200 || status == 404 || status == 405,
        "router: a route, 404 or 405");
  return 0;
}
