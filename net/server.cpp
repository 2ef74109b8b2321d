#include "net/server.hpp"

#include "core/log.hpp"
#include "net/detail/beast.hpp"
#include "net/detail/listener.hpp"
#include "net/detail/session_registry.hpp"
#include "net/detail/takeover.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <thread>
#include <vector>

namespace herald::net {

struct server::impl {
  server_options options;
  std::shared_ptr<const router> routes;
  // Declared before the io_context: sessions still queued in it at
  // destruction unregister themselves from here.
  detail::session_registry sessions;
  detail::asio::io_context ioc;
  std::optional<
    detail::asio::executor_work_guard<detail::asio::io_context::executor_type>>
    work;
  std::shared_ptr<detail::takeover_list> takeovers =
    std::make_shared<detail::takeover_list>();
  std::shared_ptr<detail::listener> listener;
  std::vector<std::thread> threads;
  bool stopped = false;

  impl(server_options opts, std::shared_ptr<const router> r)
    : options(std::move(opts)), routes(std::move(r)),
      ioc(static_cast<int>(std::max(1u, options.threads))) {}
};

server::server(server_options options, std::shared_ptr<const router> routes)
  : impl_(std::make_unique<impl>(std::move(options), std::move(routes))) {}

server::~server() {
  stop();
}

void server::start() {
  auto& i = *impl_;
  i.listener = std::make_shared<detail::listener>(i.ioc, i.routes, i.takeovers,
                                                  i.options, i.sessions);
  i.listener->open();
  i.listener->run();
  i.work.emplace(i.ioc.get_executor());
  for (unsigned n = 0; n < std::max(1u, i.options.threads); ++n)
    i.threads.emplace_back([&ioc = i.ioc] { ioc.run(); });
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
  i.sessions.close_all();
  i.work.reset();
  // Give closed sessions a moment to finish on their strands; whatever is
  // still pending after that (a handler waiting on an actor) is abandoned.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{1};
  while (i.sessions.size() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  i.ioc.stop();
  for (auto& t : i.threads)
    t.join();
  i.threads.clear();
  log::get("net")->info("listener stopped");
}

void server::add_takeover(std::shared_ptr<detail::takeover> handler) {
  impl_->takeovers->push_back(std::move(handler));
}

boost::asio::io_context& server::io() {
  return impl_->ioc;
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
  return impl_->sessions.size();
}

} // namespace herald::net
