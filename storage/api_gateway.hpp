#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace herald::storage {

/// Calls the database functions behind the HTTP API (schema/0006_http_api
/// .sql): herald.<function>(app_id, args jsonb) → jsonb. Blocking, for a
/// small pool of threads; keeps up to `connections` connections, each
/// opened on first use and reopened after it breaks.
///
/// Refusals (SQLSTATE HRnnn) and the errors a request can cause (bad
/// values, unique and check constraints) leave as herald::api_error with
/// their status; anything else as storage::error.
class api_gateway {
public:
  api_gateway(std::string database_url, size_t connections);
  ~api_gateway();

  api_gateway(const api_gateway&) = delete;
  api_gateway& operator=(const api_gateway&) = delete;

  /// herald.<function>(app_id, args) in a transaction of its own; the JSON
  /// text it returned. `function` must be a name from heraldd's route
  /// table, never client input.
  std::string call(const std::string& function, std::optional<int64_t> app_id,
                   const std::string& args_json);

  /// The same for the app whose API key hashes to `key_hash` (401 when
  /// none does, 403 when it is disabled), looked up in the same
  /// transaction.
  std::string call_as_app(const std::string& key_hash,
                          const std::string& function,
                          const std::string& args_json);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
