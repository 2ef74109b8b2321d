#include "net/api/ndjson_body.hpp"

#include "core/api_error.hpp"
#include "net/api/api_route.hpp"

#include <algorithm>
#include <iterator>

namespace herald::net::api {

namespace {

using nlohmann::json;

// Nesting PostgreSQL parses without running out of stack, and far more
// than any principal needs.
constexpr size_t max_depth = 64;

// Checks one line as nlohmann's parser reads it, keeping nothing: JSON
// that the database will take as jsonb.
struct line_checker {
  std::string problem;
  size_t depth = 0;

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) {
    return true;
  }
  bool binary(json::binary_t&) { return true; }
  bool string(json::string_t& text) { return storable(text); }
  bool key(json::string_t& text) { return storable(text); }
  bool start_object(std::size_t) { return enter(); }
  bool start_array(std::size_t) { return enter(); }
  bool end_object() { return leave(); }
  bool end_array() { return leave(); }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) {
    problem =
      "not JSON (syntax error at byte " + std::to_string(position) + ")";
    return false;
  }

  // jsonb has no place for U+0000 in text.
  bool storable(const std::string& text) {
    if (text.find('\0') == std::string::npos)
      return true;
    problem = "\\u0000 cannot be stored in text";
    return false;
  }

  bool enter() {
    if (++depth <= max_depth)
      return true;
    problem = "nested more than " + std::to_string(max_depth) + " deep";
    return false;
  }

  bool leave() {
    --depth;
    return true;
  }
};

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

bool is_object(std::string_view line) {
  auto first = line.find_first_not_of(" \t\r");
  return first != std::string_view::npos && line[first] == '{';
}

void check_content_type(std::optional<std::string_view> content_type) {
  auto type = content_type ? media_type(*content_type) : std::string{};
  if (type != "application/x-ndjson" && type != "application/ndjson")
    throw api_error{415, "unsupported_media_type",
                    "send the body as application/x-ndjson: one JSON object "
                    "per line"};
}

} // namespace

ndjson_body parse_ndjson(std::optional<std::string_view> content_type,
                         std::string_view body) {
  check_content_type(content_type);
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (body.substr(0, bom.size()) == bom)
    body.remove_prefix(bom.size());
  ndjson_body result;
  result.args.reserve(body.size() + body.size() / 16 + 16);
  result.args.append(R"({"lines":[)");
  size_t objects = 0;
  size_t number = 0;
  for (size_t start = 0; start < body.size();) {
    auto end = std::min(body.find('\n', start), body.size());
    auto line = body.substr(start, end - start);
    start = end + 1;
    ++number;
    if (number > 1)
      result.args += ',';
    if (is_blank(line)) {
      result.args += "null";
      continue;
    }
    line_checker checker;
    if (json::sax_parse(line.begin(), line.end(), &checker)) {
      result.args.append(line.data(), line.size());
      objects += is_object(line) ? 1 : 0;
      continue;
    }
    result.args += "null";
    if (++result.error_count <= max_listed_errors)
      result.errors.push_back(
        {{"line", number}, {"code", "bad_json"}, {"message", checker.problem}});
  }
  result.args += "]}";
  if (objects == 0)
    throw api_error{400, "bad_ndjson",
                    is_blank(body)
                      ? "the body is empty: send one JSON object per line"
                      : "no line of the body is a JSON object: send one JSON "
                        "object per line, not a JSON document or array"};
  return result;
}

json with_line_errors(json result, const json& errors, size_t error_count) {
  if (error_count == 0)
    return result;
  json merged = json::array();
  const auto& theirs = result["errors"];
  std::merge(theirs.begin(), theirs.end(), errors.begin(), errors.end(),
             std::back_inserter(merged), [](const json& a, const json& b) {
               return a["line"].get<int64_t>() < b["line"].get<int64_t>();
             });
  if (merged.size() > max_listed_errors)
    merged.erase(merged.begin() + max_listed_errors, merged.end());
  result["errors"] = std::move(merged);
  result["lines"] =
    result["lines"].get<int64_t>() + static_cast<int64_t>(error_count);
  result["error_count"] =
    result["error_count"].get<int64_t>() + static_cast<int64_t>(error_count);
  return result;
}

} // namespace herald::net::api
