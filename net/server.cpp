#include "net/server.hpp"

#include "core/log.hpp"
#include "net/detail/beast.hpp"
#include "net/detail/listener.hpp"
#include "net/detail/session_registry.hpp"
#include "net/detail/takeover.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <thread>
#include <vector>

namespace herald::net {

struct server::impl {
  server_options options;
  std::shared_ptr<const router> routes;
  // Declared before the io_context: sessions still queued in it at
  // destruction unregister themselves from here.
  std::shared_ptr<detail::session_registry> sessions =
    std::make_shared<detail::session_registry>();
  /// One per I/O thread, each run by its thread alone (see
  /// detail/connection_executor.hpp).
  std::vector<std::unique_ptr<detail::asio::io_context>> contexts;
  std::vector<
    detail::asio::executor_work_guard<detail::asio::io_context::executor_type>>
    work;
  std::shared_ptr<detail::takeover_list> takeovers =
    std::make_shared<detail::takeover_list>();
  std::shared_ptr<detail::listener> listener;
  std::vector<std::thread> threads;
  bool stopped = false;

  impl(server_options opts, std::shared_ptr<const router> r)
    : options(std::move(opts)), routes(std::move(r)) {
    for (unsigned n = 0; n < std::max(1u, options.threads); ++n)
      contexts.push_back(std::make_unique<detail::asio::io_context>(1));
  }
};

server::server(server_options options, std::shared_ptr<const router> routes)
  : impl_(std::make_unique<impl>(std::move(options), std::move(routes))) {}

server::~server() {
  stop();
}

void server::start() {
  auto& i = *impl_;
  std::vector<detail::asio::io_context*> contexts;
  for (auto& context : i.contexts)
    contexts.push_back(context.get());
  i.listener = std::make_shared<detail::listener>(
    std::move(contexts), i.routes, i.takeovers, i.options, *i.sessions);
  i.listener->open();
  i.listener->run();
  for (auto& context : i.contexts) {
    i.work.emplace_back(context->get_executor());
    i.threads.emplace_back([&ioc = *context] { ioc.run(); });
  }
  log::get("net")->info("listening on {}://{}:{}",
                        i.options.tls ? "https" : "http", i.options.address,
                        i.listener->port());
}

void server::stop() {
  auto& i = *impl_;
  if (i.stopped || !i.listener)
    return;
  i.stopped = true;
  i.listener->stop();
  i.sessions->close_all();
  i.work.clear();
  // Give closed sessions a moment to finish on their threads; whatever is
  // still pending after that (a handler waiting on an actor) is abandoned.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{1};
  while (i.sessions->size() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  for (auto& context : i.contexts)
    context->stop();
  for (auto& t : i.threads)
    t.join();
  i.threads.clear();
  log::get("net")->info("listener stopped");
}

void server::add_takeover(std::shared_ptr<detail::takeover> handler) {
  impl_->takeovers->push_back(std::move(handler));
}

boost::asio::io_context& server::io() {
  return *impl_->contexts.front();
}

uint16_t server::port() const {
  return impl_->listener ? impl_->listener->port() : 0;
}

std::vector<std::string> server::routes() const {
  auto all = impl_->routes->routes();
  for (const auto& handler : *impl_->takeovers)
    all.push_back(handler->route());
  return all;
}

size_t server::session_count() const {
  return impl_->sessions->size();
}

std::shared_ptr<detail::session_registry> server::sessions() const {
  return impl_->sessions;
}

} // namespace herald::net
