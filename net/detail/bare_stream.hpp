#pragma once

// Internal to net/: a connection's bytes without Beast's timed stream, for
// sessions that keep their own timer.

#include "net/detail/connection_stream.hpp"

#include <array>

#include <chrono>
#include <memory>
#include <utility>

namespace herald::net::detail {

/// The socket of a plain connection, taken out of Beast's timed stream; a
/// TLS connection stays as it was. A WebSocket session keeps its own
/// deadlines (net/stream/deadline_wheel.hpp): the timed stream's three
/// timers and the bookkeeping of each read and write through it were
/// 0.5 KB per idle connection and work on every frame.
class bare_stream {
public:
  using executor_type = connection_executor;

  explicit bare_stream(connection_stream&& from)
    : socket_(from.get_executor()) {
    if (from.is_tls())
      tls_ = std::make_unique<connection_stream>(std::move(from));
    else
      socket_ = from.next_layer().release_socket();
    // For read_some_now and write_some_now: a read or write that would
    // wait says so instead. Asio's own asynchronous operations are not
    // affected.
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);
  }

  executor_type get_executor() { return socket_.get_executor(); }
  bool is_tls() const { return tls_ != nullptr; }

  /// A plain connection's bytes that are already there, without waiting:
  /// what fits `buffer`, or 0 and would_block (or the error). Always 0
  /// for TLS.
  size_t read_some_now(const asio::mutable_buffer& buffer,
                       beast::error_code& ec) {
    if (tls_) {
      ec = asio::error::would_block;
      return 0;
    }
    return socket_.read_some(buffer, ec);
  }

  /// What of `buffers` a plain connection's socket takes now, without
  /// waiting: all of it while the kernel's send buffer has room. 0 and
  /// would_block when it is full, and always for TLS.
  template <class ConstBuffers>
  size_t write_some_now(const ConstBuffers& buffers, beast::error_code& ec) {
    if (tls_) {
      ec = asio::error::would_block;
      return 0;
    }
    return socket_.write_some(buffers, ec);
  }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    else
      socket_.async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    else
      socket_.async_write_some(buffers, std::forward<Handler>(handler));
  }

  /// As connection_stream::async_close: a lingering close within
  /// `timeout`, or TLS's close_notify. `done` keeps the owner alive.
  template <class Done>
  void async_close(std::chrono::steady_clock::duration timeout, Done done) {
    if (tls_)
      return tls_->async_close(timeout, std::move(done));
    beast::error_code ec;
    socket_.shutdown(session_socket::shutdown_send, ec);
    // The drain's deadline: a timer only while closing. Its handler and
    // the drain's run on the connection's thread; once the drain is over,
    // the stream may be gone, and the deadline must not touch it.
    auto state = std::make_shared<lingering>(get_executor());
    state->deadline.expires_after(timeout);
    state->deadline.async_wait([this, state](beast::error_code ec) {
      if (!ec && !state->over)
        close_now();
    });
    drain(std::move(state), std::move(done));
  }

  void close_now() {
    if (tls_)
      return tls_->close_now();
    detail::close_now(socket_);
  }

  void abort() {
    if (tls_)
      return tls_->abort();
    detail::reset(socket_);
  }

private:
  struct lingering {
    explicit lingering(executor_type ex) : deadline(ex) {}
    std::array<char, 4096> scratch{};
    session_timer deadline;
    bool over = false;
  };

  template <class Done>
  void drain(std::shared_ptr<lingering> state, Done done) {
    auto buffer = asio::buffer(state->scratch);
    socket_.async_read_some(
      buffer, [this, state = std::move(state), done = std::move(done)](
                beast::error_code ec, std::size_t) mutable {
        if (ec) { // end of stream, the deadline or a reset: done either way
          state->over = true;
          state->deadline.cancel();
          close_now();
          done();
          return;
        }
        drain(std::move(state), std::move(done));
      });
  }

  session_socket socket_; ///< unused (closed) for TLS
  std::unique_ptr<connection_stream> tls_;
};

} // namespace herald::net::detail
