#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
} // namespace spdlog

namespace herald::log {

/// The named logger of one subsystem ("ingest", "net", "storage", ...),
/// created on first use with the process-wide level and format.
std::shared_ptr<spdlog::logger> get(const std::string& subsystem);

/// Sets the level of every logger, present and future. Returns false when
/// `level` is not one of trace, debug, info, warn, error, critical, off.
bool set_level(std::string_view level);

} // namespace herald::log
