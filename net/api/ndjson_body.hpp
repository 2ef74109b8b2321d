#pragma once

// Internal to net/api: request bodies of newline-delimited JSON (POST
// /v1/import). Each line is checked here, without building it into a
// document; the lines that are JSON go to the database as they are.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace herald::net::api {

/// The most line errors a response lists (it counts them all).
constexpr size_t max_listed_errors = 100;

/// An NDJSON body split into lines.
struct ndjson_body {
  /// {"lines": [...]} as JSON text: element i is line i + 1, the line
  /// itself when it is JSON, null when it is blank or not JSON.
  std::string args;
  /// The lines that are not JSON: [{"line", "code", "message"}], the
  /// first max_listed_errors of them.
  nlohmann::json errors = nlohmann::json::array();
  size_t error_count = 0;
};

/// Splits and checks `body`. Throws api_error 415 unless the content type
/// is NDJSON, 400 bad_ndjson when no line is a JSON object (an empty body,
/// one JSON document over several lines, a JSON array).
ndjson_body parse_ndjson(std::optional<std::string_view> content_type,
                         std::string_view body);

/// The import's answer: the database's `result` for the JSON lines with
/// the lines that were not JSON added (`lines`, `errors` in line order,
/// `error_count`).
nlohmann::json with_line_errors(nlohmann::json result,
                                const nlohmann::json& errors,
                                size_t error_count);

} // namespace herald::net::api
