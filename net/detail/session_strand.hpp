#pragma once

// Internal to net/: the strand a connection's I/O runs on, by its own type.

#include "net/detail/beast.hpp"

#include <boost/asio/io_context.hpp>

#include <stdexcept>

namespace herald::net::detail {

/// The listener gives every accepted socket a strand of the io_context.
using session_strand = asio::strand<asio::io_context::executor_type>;

/// The strand under a socket's executor, as its own type: posting a push
/// through the socket's type-erased executor copied and converted that
/// executor every time (7 % of the engine's CPU in fan-out). A copy of a
/// strand is the same strand: what is posted to it is serialised with the
/// socket's own completions.
inline session_strand strand_of(const asio::any_io_executor& executor) {
  if (auto strand = executor.target<session_strand>())
    return *strand;
  throw std::logic_error("a session's socket runs on no strand");
}

} // namespace herald::net::detail
