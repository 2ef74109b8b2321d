#pragma once

#include "net/detail/beast.hpp"
#include "net/detail/connection_stream.hpp"
#include "net/detail/session_registry.hpp"
#include "net/detail/takeover.hpp"
#include "net/router.hpp"
#include "net/server.hpp"

#include <memory>
#include <optional>

namespace herald::net::detail {

/// One HTTP/1.1 connection, plain or TLS (told apart by its first bytes
/// when the server has a certificate): reads a request, routes it, writes
/// the response (possibly later, for handlers that wait), repeats while the
/// client keeps the connection alive. All I/O runs on the socket's executor
/// (one I/O thread).
class http_session : public closable,
                     public std::enable_shared_from_this<http_session> {
public:
  http_session(session_socket&& socket, std::shared_ptr<const router> routes,
               std::shared_ptr<const takeover_list> takeovers,
               const server_options& options, session_registry& registry);
  ~http_session() override;

  void run();
  void close() override;

private:
  void on_detect(beast::error_code ec, bool is_tls);
  void on_handshake(beast::error_code ec, std::size_t used);
  void do_read();
  void on_read_header(beast::error_code ec, std::size_t bytes);
  void on_read(beast::error_code ec, std::size_t bytes);
  /// The largest body the route of `head` takes.
  size_t body_limit_of(const http::request<http::string_body>& head) const;
  void handle(http::request<http::string_body>&& req);
  void write(http_response res);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void write_error_and_close(unsigned status, const char* code,
                             const char* message);
  void do_close();

  connection_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const router> routes_;
  std::shared_ptr<const takeover_list> takeovers_;
  const server_options& options_;
  session_registry& registry_;
  uint64_t registry_id_ = 0;
  std::string remote_address_;
  bool keep_alive_ = false;
  bool head_request_ = false;
  bool closed_ = false;
  std::shared_ptr<void> response_in_flight_;
};

} // namespace herald::net::detail
