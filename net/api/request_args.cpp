#include "core/api_error.hpp"
#include "core/utf8.hpp"
#include "net/api/api_route.hpp"

#include <cctype>
#include <set>

namespace herald::net::api {

namespace {

using nlohmann::json;

[[noreturn]] void bad_field(const std::string& name, const std::string& why) {
  throw api_error{400, "bad_field", name + ": " + why};
}

const char* describe(field_type type) {
  switch (type) {
    case field_type::string:
      return "a string";
    case field_type::integer:
      return "an integer";
    case field_type::boolean:
      return "true or false";
    case field_type::object:
      return "an object";
    case field_type::string_list:
      return "an array of strings";
    case field_type::object_list:
      return "an array of objects";
  }
  return "a value";
}

bool is_list_of(const json& value, json::value_t element) {
  if (!value.is_array())
    return false;
  for (const auto& item : value)
    if (item.type() != element)
      return false;
  return true;
}

void check_range(const field& f, int64_t value) {
  if (value < f.min || value > f.max)
    bad_field(f.name, "must be between " + std::to_string(f.min) + " and " +
                        std::to_string(f.max));
}

void check_body_field(const field& f, const json& value) {
  bool ok = false;
  switch (f.type) {
    case field_type::string:
      ok = value.is_string();
      break;
    case field_type::integer:
      ok = value.is_number_integer();
      break;
    case field_type::boolean:
      ok = value.is_boolean();
      break;
    case field_type::object:
      ok = value.is_object();
      break;
    case field_type::string_list:
      ok = is_list_of(value, json::value_t::string);
      break;
    case field_type::object_list:
      ok = is_list_of(value, json::value_t::object);
      break;
  }
  if (!ok)
    bad_field(f.name, std::string{"must be "} + describe(f.type));
  if (f.type == field_type::integer)
    check_range(f, value.get<int64_t>());
}

// Percent-decoding yields any bytes, but the args go to the database as
// JSON, whose dump() throws on invalid UTF-8: refuse them here as the
// client's mistake rather than fail later with a 500.
void check_text(const std::string& name, const std::string& text) {
  if (!utf8::valid(text))
    bad_field(name, "must be UTF-8 text");
}

json query_value(const field& f, const std::string& text) {
  check_text(f.name, text);
  if (f.type == field_type::boolean) {
    if (text == "true" || text == "1")
      return true;
    if (text == "false" || text == "0")
      return false;
    bad_field(f.name, "must be true or false");
  }
  if (f.type == field_type::integer) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      bad_field(f.name, "must be an integer");
    check_range(f, value);
    return value;
  }
  return text;
}

} // namespace

std::string media_type(std::string_view content_type) {
  auto type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ')
    type.remove_suffix(1);
  std::string lower{type};
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

json request_args(const api_route& route,
                  const std::map<std::string, std::string>& params,
                  const std::map<std::string, std::string>& query,
                  std::optional<std::string_view> content_type,
                  const std::string& body) {
  json args = json::object();
  for (const auto& [name, value] : params) {
    check_text(name, value);
    if (name == "id") {
      auto digits = !value.empty() && value.size() < 19 &&
                    value.find_first_not_of("0123456789") == std::string::npos;
      if (!digits)
        bad_field("id", "must be a positive integer");
      args[name] = std::stoll(value);
    } else {
      args[name] = value;
    }
  }
  for (const auto& f : route.query) {
    auto it = query.find(f.name);
    if (it != query.end() && !it->second.empty())
      args[f.name] = query_value(f, it->second);
    else if (f.required)
      bad_field(f.name, "required");
  }
  if (!route.body.empty() && !body.empty()) {
    if (!content_type || media_type(*content_type) != "application/json")
      throw api_error{415, "unsupported_media_type",
                      "send the body as application/json"};
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded())
      throw api_error{400, "bad_json", "the body is not valid JSON"};
    if (!parsed.is_object())
      throw api_error{400, "bad_json", "the body must be a JSON object"};
    std::set<std::string> known;
    for (const auto& f : route.body) {
      known.insert(f.name);
      auto it = parsed.find(f.name);
      if (it == parsed.end() || it->is_null()) {
        if (f.required)
          bad_field(f.name, "required");
        continue;
      }
      check_body_field(f, *it);
      args[f.name] = *it;
    }
    for (const auto& item : parsed.items())
      if (!known.count(item.key()))
        bad_field(item.key(), "unknown field");
  } else {
    for (const auto& f : route.body)
      if (f.required)
        bad_field(f.name, "required");
  }
  for (const auto& item : route.fixed.items())
    args[item.key()] = item.value();
  return args;
}

} // namespace herald::net::api
