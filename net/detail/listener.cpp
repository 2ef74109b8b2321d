#include "net/detail/listener.hpp"

#include "core/log.hpp"
#include "net/detail/http_session.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace herald::net::detail {

listener::listener(std::vector<asio::io_context*> contexts,
                   std::shared_ptr<const router> routes,
                   std::shared_ptr<const takeover_list> takeovers,
                   const server_options& options, session_registry& registry)
  : contexts_(std::move(contexts)), acceptor_(*contexts_.front()),
    routes_(std::move(routes)), takeovers_(std::move(takeovers)),
    options_(options), registry_(registry) {}

void listener::open() {
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.address, ec);
  if (ec)
    throw std::runtime_error("invalid listen address '" + options_.address +
                             "': " + ec.message());
  tcp::endpoint endpoint{address, options_.port};
  auto where = options_.address + ":" + std::to_string(options_.port);
  auto check = [&](const char* what) {
    if (ec)
      throw std::runtime_error(std::string{"cannot "} + what + " " + where +
                               ": " + ec.message());
  };
  acceptor_.open(endpoint.protocol(), ec);
  check("open");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  check("configure");
  acceptor_.bind(endpoint, ec);
  check("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  check("listen on");
  port_ = acceptor_.local_endpoint().port();
}

void listener::run() {
  asio::dispatch(
    acceptor_.get_executor(),
    beast::bind_front_handler(&listener::do_accept, shared_from_this()));
}

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
}

void listener::do_accept() {
  // Connections go to the I/O threads in turn: a connection's handlers
  // all run on its thread, in order, with no strand.
  auto& context = *contexts_[next_context_++ % contexts_.size()];
  acceptor_.async_accept(
    context.get_executor(),
    beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, session_socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    // Out of file descriptors and the like: log, keep accepting.
    log::get("net")->warn("accept: {}", ec.message());
  } else {
    // Pushes are small frames written as they come: with Nagle's algorithm
    // one would wait for the client's (delayed, up to 40 ms) ack of the
    // previous one.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<http_session>(std::move(socket), routes_, takeovers_,
                                   options_, registry_)
      ->run();
  }
  do_accept();
}

} // namespace herald::net::detail
