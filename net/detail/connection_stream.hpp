#pragma once

// Internal to net/: the byte stream of one client connection.

#include "net/detail/beast.hpp"
#include "net/detail/connection_executor.hpp"

#include <boost/asio/ssl/stream.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <utility>

namespace herald::net::detail {

namespace ssl = boost::asio::ssl;

/// Plain TCP, or TLS over it once start_tls() was called (the listener does
/// that when a client's first bytes are a TLS ClientHello). One type for
/// both, so that the HTTP, WebSocket and SSE sessions are not templates;
/// the branch per operation is nothing next to the I/O it picks.
///
/// Timeouts live on the TCP layer below TLS (beast::get_lowest_layer finds
/// it through next_layer()), as with beast::ssl_stream.
class connection_stream {
public:
  using executor_type = connection_executor;
  using tls_stream = ssl::stream<session_tcp_stream>;

  explicit connection_stream(session_socket&& socket)
    : plain_(std::move(socket)) {}
  connection_stream(connection_stream&&) = default;
  connection_stream& operator=(connection_stream&&) = delete;

  /// Wraps the TCP stream in TLS; the handshake is the caller's next step.
  void start_tls(ssl::context& context) {
    tls_ = std::make_unique<tls_stream>(std::move(plain_), context);
  }
  bool is_tls() const { return tls_ != nullptr; }
  tls_stream& tls() { return *tls_; }

  executor_type get_executor() { return next_layer().get_executor(); }
  session_tcp_stream& next_layer() {
    return tls_ ? tls_->next_layer() : plain_;
  }
  session_socket& socket() { return next_layer().socket(); }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    else
      plain_.async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    else
      plain_.async_write_some(buffers, std::forward<Handler>(handler));
  }

  /// Ends the connection politely, within `timeout`: over TLS with a
  /// close_notify; over TCP by shutting down the sending side and reading
  /// whatever the client still sends until it closes (a lingering close:
  /// closing with unread bytes would reset the connection and could destroy
  /// the response, e.g. a 413 sent before a big body was read). `done` runs
  /// when the socket is closed; it should keep the owner of this stream
  /// alive.
  template <class Done>
  void async_close(std::chrono::steady_clock::duration timeout, Done done) {
    next_layer().expires_after(timeout);
    if (tls_) {
      tls_->async_shutdown(
        [this, done = std::move(done)](beast::error_code) mutable {
          close_now();
          done();
        });
      return;
    }
    beast::error_code ec;
    socket().shutdown(session_socket::shutdown_send, ec);
    drain(std::make_shared<std::array<char, 4096>>(), std::move(done));
  }

  /// Drops the connection at once (errors, slow consumers).
  void close_now() { detail::close_now(socket()); }

  /// Resets the connection (detail::reset).
  void abort() { detail::reset(socket()); }

private:
  template <class Done>
  void drain(std::shared_ptr<std::array<char, 4096>> scratch, Done done) {
    auto buffer = asio::buffer(*scratch);
    plain_.async_read_some(
      buffer, [this, scratch = std::move(scratch), done = std::move(done)](
                beast::error_code ec, std::size_t) mutable {
        if (ec) { // end of stream, timeout or reset: done either way
          close_now();
          done();
          return;
        }
        drain(std::move(scratch), std::move(done));
      });
  }

  session_tcp_stream plain_; ///< moved from (and unused) once TLS starts
  std::unique_ptr<tls_stream> tls_;
};

} // namespace herald::net::detail
