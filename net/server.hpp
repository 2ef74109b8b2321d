#pragma once

#include "net/router.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
namespace ssl {
class context;
} // namespace ssl
} // namespace boost::asio

namespace herald::net {

namespace detail {
class session_registry;
class takeover;
} // namespace detail

struct server_options {
  std::string address = "127.0.0.1";
  uint16_t port = 8080; ///< 0 picks a free port; see server::port().
  unsigned threads = 2; ///< io_context threads.
  size_t body_limit = 1 << 20;
  /// A request's head must arrive within this, counted from when the
  /// server starts waiting for it: slow clients (slowloris) and idle
  /// keep-alive connections are closed after it.
  std::chrono::seconds header_timeout{10};
  /// The body, once the head is in, and the TLS handshake.
  std::chrono::seconds idle_timeout{30};
  /// A response (a long-poll answer too) the client does not take within
  /// this ends the connection.
  std::chrono::seconds write_timeout{10};
  /// When set, the port speaks TLS too: a connection whose first bytes are
  /// a TLS ClientHello gets a handshake, any other is plain HTTP. See
  /// make_tls_context().
  std::shared_ptr<boost::asio::ssl::context> tls;
};

/// A server TLS context from PEM files: the certificate chain and its
/// private key. Throws std::runtime_error naming the file that is missing
/// or does not fit.
std::shared_ptr<boost::asio::ssl::context>
make_tls_context(const std::string& certificate_chain_file,
                 const std::string& private_key_file);

/// The public HTTP listener: owns the io_context, its threads, the acceptor
/// and every session. Routes each request through `router`.
class server {
public:
  server(server_options options, std::shared_ptr<const router> routes);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Adds a route that takes connections over (WebSocket, SSE); call
  /// before start().
  void add_takeover(std::shared_ptr<detail::takeover> handler);

  /// The first I/O thread's io_context (for timers of handlers that wait).
  boost::asio::io_context& io();

  /// Binds and starts accepting; throws std::runtime_error naming the
  /// address when the port cannot be bound.
  void start();

  /// Shutdown in order: stop accepting, close every session, stop the
  /// io_context and join its threads. Safe to call twice.
  void stop();

  /// The bound port (useful after binding port 0).
  uint16_t port() const;

  /// "METHOD pattern" of everything served: the router's routes and the
  /// takeovers.
  std::vector<std::string> routes() const;

  /// Open sessions right now.
  size_t session_count() const;

  /// The open sessions, for ending some from outside (a rotated token
  /// secret); whatever may outlive the server holds them weakly.
  std::shared_ptr<detail::session_registry> sessions() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::net
