#pragma once

#include <stdexcept>
#include <string>

namespace herald {

/// A request the API refuses, with what to answer: the HTTP status and
/// {"error": {"code", "message", "hint"?}}. Raised by request checks in
/// net/ and, translated from SQLSTATE HRnnn and constraint errors, by the
/// database functions behind the API (storage/api_gateway).
class api_error : public std::runtime_error {
public:
  api_error(unsigned status, std::string code, const std::string& message,
            std::string hint = {})
    : std::runtime_error(message), status_(status), code_(std::move(code)),
      hint_(std::move(hint)) {}

  unsigned status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& hint() const noexcept { return hint_; }

private:
  unsigned status_;
  std::string code_;
  std::string hint_;
};

} // namespace herald
