#pragma once

#include "net/detail/beast.hpp"
#include "net/detail/connection_executor.hpp"
#include "net/detail/session_registry.hpp"
#include "net/detail/takeover.hpp"
#include "net/router.hpp"
#include "net/server.hpp"

#include <memory>
#include <vector>

namespace herald::net::detail {

/// Accepts connections and hands each to a new http_session, on the
/// io_contexts in turn (one per I/O thread).
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(std::vector<asio::io_context*> contexts,
           std::shared_ptr<const router> routes,
           std::shared_ptr<const takeover_list> takeovers,
           const server_options& options, session_registry& registry);

  /// Binds and listens; throws std::runtime_error naming the endpoint.
  void open();
  void run();
  /// Stops accepting; thread-safe.
  void stop();
  uint16_t port() const { return port_; }

private:
  void do_accept();
  void on_accept(beast::error_code ec, session_socket socket);

  std::vector<asio::io_context*> contexts_;
  size_t next_context_ = 0;
  tcp::acceptor acceptor_;
  std::shared_ptr<const router> routes_;
  std::shared_ptr<const takeover_list> takeovers_;
  const server_options& options_;
  session_registry& registry_;
  uint16_t port_ = 0;
};

} // namespace herald::net::detail
