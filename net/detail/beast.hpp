#pragma once

// Internal to net/: the Beast and Asio headers, with the namespace aliases
// every session uses. Never include this from a header outside net/detail.

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace herald::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

/// Logs a failed operation unless it is part of a normal close.
void fail(beast::error_code ec, const char* what);

} // namespace herald::net::detail
