#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace herald::actors {

/// Errors that actors report to each other (exit reasons, failed requests).
enum class errc : uint8_t {
  /// A supervisor restarted its children too often and gave up.
  restart_intensity = 1,
  /// A crash injected on purpose by an operator or a test.
  injected_crash,
  /// The database could not be reached.
  database_unreachable,
};

std::string to_string(errc code);

} // namespace herald::actors

CAF_ERROR_CODE_ENUM(herald::actors::errc, "herald")
