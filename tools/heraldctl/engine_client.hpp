#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace herald::ctl {

/// The engine could not be reached at all (exit code 2).
struct unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The engine answered with an error status (exit code 3 for 401/403,
/// 1 otherwise).
struct refused : std::runtime_error {
  refused(unsigned status, const std::string& message)
    : std::runtime_error(message), status(status) {}
  unsigned status;
};

/// Talks JSON to a running heraldd's admin routes with the admin token.
class engine_client {
public:
  /// `base_url`: http://host:port (the admin listener or the public port).
  engine_client(std::string base_url, std::string token);

  nlohmann::json get(const std::string& path) const;
  nlohmann::json
  post(const std::string& path,
       const nlohmann::json& body = nlohmann::json::object()) const;

  /// GET returning the raw body (Prometheus text, say).
  std::string get_text(const std::string& path) const;

  const std::string& base_url() const { return base_url_; }

private:
  std::string request(const char* method, const std::string& path,
                      const std::string& body) const;

  std::string base_url_;
  std::string host_;
  std::string port_;
  std::string token_;
};

} // namespace herald::ctl
