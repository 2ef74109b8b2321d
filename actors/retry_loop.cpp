#include "actors/retry_loop.hpp"

#include "core/log.hpp"

#include <spdlog/spdlog.h>

namespace herald::actors {

bool retry_loop::failed(const char* what, const std::exception& e) {
  ++failures;
  last_error = e.what();
  log::get("ingest")->warn("{} failed, retrying: {}", what, e.what());
  if (retry_scheduled)
    return false;
  retry_scheduled = true;
  return true;
}

} // namespace herald::actors
