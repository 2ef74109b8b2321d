#pragma once

// Internal to net/: the strand a connection's I/O runs on, by its own type.

#include "net/detail/beast.hpp"

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>

namespace herald::net::detail {

/// The listener gives every accepted socket a strand of the io_context.
using session_strand = asio::strand<asio::io_context::executor_type>;

/// A connection's socket and TCP stream, on that strand by its own type.
/// With Asio's default type-erased executor, every operation, completion
/// and post copied the executor and queried its properties through the
/// erasure (`any_executor_base::prefer_fn`, `copy_shared`): 5-7 % of the
/// engine's CPU in fan-out. A copy of a strand is the same strand: what
/// is posted to it is serialised with the socket's own completions.
using session_socket = asio::basic_stream_socket<tcp, session_strand>;
using session_tcp_stream = beast::basic_stream<tcp, session_strand>;
/// A timer on the same strand: with the type-erased executor, a timer and
/// each of its pending waits allocated a copy of the strand.
using session_timer =
  asio::basic_waitable_timer<std::chrono::steady_clock,
                             asio::wait_traits<std::chrono::steady_clock>,
                             session_strand>;

} // namespace herald::net::detail
