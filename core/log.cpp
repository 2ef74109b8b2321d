#include "core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace herald::log {

namespace {

std::mutex registry_mutex;

spdlog::level::level_enum& current_level() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}

} // namespace

std::shared_ptr<spdlog::logger> get(const std::string& subsystem) {
  std::lock_guard<std::mutex> guard{registry_mutex};
  if (auto existing = spdlog::get(subsystem))
    return existing;
  // Log to stderr so that stdout stays free for what a tool prints.
  auto logger = spdlog::stderr_color_mt(subsystem);
  logger->set_level(current_level());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  return logger;
}

bool set_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string{level});
  // from_str answers "off" for anything it does not know.
  if (parsed == spdlog::level::off && level != "off")
    return false;
  std::lock_guard<std::mutex> guard{registry_mutex};
  current_level() = parsed;
  spdlog::apply_all([parsed](const std::shared_ptr<spdlog::logger>& logger) {
    logger->set_level(parsed);
  });
  return true;
}

} // namespace herald::log
