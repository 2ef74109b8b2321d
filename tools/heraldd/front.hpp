#pragma once

#include "core/fwd.hpp"
#include "tools/heraldd/config.hpp"

#include <caf/actor.hpp>

#include <memory>
#include <string>

namespace caf {
class actor_system;
} // namespace caf

namespace herald::tools {

/// heraldd's HTTP side: the public listener (HTTP API, streaming
/// transports, web files) and, when an admin token is set, the loopback
/// admin listener (admin API, debug endpoints, metrics).
class front {
public:
  front(const config& cfg, caf::actor_system& sys,
        std::shared_ptr<readiness_board> board,
        std::shared_ptr<app_directory> apps);
  ~front();

  /// Binds both listeners; throws std::runtime_error naming what failed.
  void start();
  /// The schema is migrated: the API may take calls.
  void open_api();
  /// The engine's root supervisor, for the debug endpoints (or nullptr).
  void set_engine(caf::actor root);
  /// Closes every session and joins the threads; safe to call twice.
  void stop();

  uint16_t public_port() const;
  std::string public_url() const;
  /// Empty when the admin listener is off.
  std::string admin_url() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::tools
