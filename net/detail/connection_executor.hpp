#pragma once

// Internal to net/: the executor a connection's I/O runs on, by its own
// type.

#include "net/detail/beast.hpp"

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>

namespace herald::net::detail {

/// A connection lives on one io_context, which one thread runs (the
/// server has one per I/O thread): what is posted to it is serialised with
/// the socket's own completions without a strand. A strand per connection
/// cost an allocation of 110 bytes, a lock on every post and completion,
/// and a bigger executor in every I/O object and operation.
using connection_executor = asio::io_context::executor_type;

/// A connection's socket and TCP stream, on that executor by its own type.
/// With Asio's default type-erased executor, every operation, completion
/// and post copied the executor and queried its properties through the
/// erasure (`any_executor_base::prefer_fn`, `copy_shared`): 5-7 % of the
/// engine's CPU in fan-out.
using session_socket = asio::basic_stream_socket<tcp, connection_executor>;
using session_tcp_stream = beast::basic_stream<tcp, connection_executor>;
/// A timer on the same executor: with the type-erased one, a timer and
/// each of its pending waits allocated a copy of it.
using session_timer =
  asio::basic_waitable_timer<std::chrono::steady_clock,
                             asio::wait_traits<std::chrono::steady_clock>,
                             connection_executor>;

/// Drops the connection at once (errors, slow consumers).
inline void close_now(session_socket& socket) {
  beast::error_code ec;
  socket.shutdown(session_socket::shutdown_both, ec);
  socket.close(ec);
}

/// Resets the connection: what the kernel still holds for a client that
/// does not read (megabytes, at a trickle through its window) is thrown
/// away instead of being sent for minutes after the close.
inline void reset(session_socket& socket) {
  beast::error_code ec;
  socket.set_option(asio::socket_base::linger{true, 0}, ec);
  socket.close(ec);
}

} // namespace herald::net::detail
