#include "actors/errc.hpp"

namespace herald::actors {

std::string to_string(errc code) {
  switch (code) {
    case errc::restart_intensity:
      return "restart_intensity";
    case errc::injected_crash:
      return "injected_crash";
    case errc::database_unreachable:
      return "database_unreachable";
  }
  return "unknown";
}

} // namespace herald::actors
