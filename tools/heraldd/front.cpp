#include "tools/heraldd/front.hpp"

#include "core/app_directory.hpp"
#include "core/log.hpp"
#include "net/api/debug_routes.hpp"
#include "net/api/demo_routes.hpp"
#include "net/api/health_routes.hpp"
#include "net/api/http_api.hpp"
#include "net/api/static_files.hpp"
#include "net/api/stream_routes.hpp"
#include "net/auth.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "net/stream/stream_context.hpp"
#include "storage/api_gateway.hpp"

#include <caf/actor_system.hpp>

#include <spdlog/spdlog.h>

#include <mutex>
#include <optional>

namespace herald::tools {

namespace {

std::chrono::seconds seconds_of(caf::timespan t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t);
}

std::shared_ptr<net::stream_context>
make_stream_context(const config& cfg, caf::actor_system& sys,
                    std::shared_ptr<const app_directory> apps) {
  auto at_least_a_second = [](caf::timespan t) {
    return std::max(std::chrono::seconds{1}, seconds_of(t));
  };
  auto streams = std::make_shared<net::stream_context>();
  streams->system = &sys;
  streams->user_shards = cfg.user_shards;
  streams->apps = std::move(apps);
  streams->max_queued_bytes = cfg.max_queued_bytes;
  streams->max_frame_bytes = cfg.max_frame_bytes;
  streams->hello_timeout = at_least_a_second(cfg.hello_timeout);
  streams->write_timeout = at_least_a_second(cfg.write_timeout);
  auto ms = [](caf::timespan t) {
    return std::max(std::chrono::milliseconds{1},
                    std::chrono::duration_cast<std::chrono::milliseconds>(t));
  };
  streams->ping_interval = ms(cfg.ping_interval);
  streams->ping_timeout = ms(cfg.ping_timeout);
  streams->write_delay =
    std::chrono::duration_cast<std::chrono::microseconds>(cfg.write_delay);
  return streams;
}

net::api::http_api_options
make_api_options(const config& cfg, std::shared_ptr<app_directory> apps,
                 std::shared_ptr<net::admin_guard> admin) {
  net::api::http_api_options opts;
  opts.database_url = cfg.database_url;
  opts.threads = cfg.api_threads;
  opts.import_body_limit = cfg.http_import_body_limit;
  opts.admin = std::move(admin);
  opts.rate_limit = cfg.api_rate_limit;
  opts.rate_burst = cfg.api_rate_burst;
  opts.token_ttl = seconds_of(cfg.api_token_ttl);
  opts.apps = std::move(apps);
  return opts;
}

std::shared_ptr<boost::asio::ssl::context> tls_of(const config& cfg) {
  if (cfg.http_tls_cert.empty())
    return nullptr;
  return net::make_tls_context(cfg.http_tls_cert, cfg.http_tls_key);
}

} // namespace

struct front::impl {
  impl(const config& cfg, caf::actor_system& sys,
       std::shared_ptr<readiness_board> board,
       std::shared_ptr<app_directory> apps)
    : cfg(cfg),
      admin_check(std::make_shared<net::admin_guard>(cfg.admin_token)),
      api(make_api_options(cfg, apps, admin_check)),
      streams(make_stream_context(cfg, sys, apps)) {
    // Public: health, the app and user API, development tokens, streams,
    // web files. Nothing of the operator's: no /v1/admin, no debug, no
    // metrics, no console (they are 404 here, like any unknown path).
    net::api::add_health_routes(*public_routes, board, apps);
    api.add_routes(*public_routes, net::api::http_api::audience::everyone);
    auto debug = std::make_shared<net::api::debug_context>();
    debug->system = &sys;
    debug->root = [this] {
      std::lock_guard<std::mutex> guard{engine_mutex};
      return engine;
    };
    debug->streams = streams;
    debug->apps = apps;
    debug->database =
      std::make_shared<storage::api_gateway>(cfg.database_url, 1);
    debug->admin = admin_check;
    if (!cfg.web_demo_app.empty()) {
      log::get("heraldd")->warn(
        "web.demo-app: POST /v1/demo/token mints tokens of app '{}' for "
        "anyone; for development only",
        cfg.web_demo_app);
      net::api::add_demo_routes(*public_routes, apps, cfg.web_demo_app,
                                seconds_of(cfg.api_token_ttl));
    }
    if (!cfg.web_root.empty())
      net::api::add_static_files(*public_routes, cfg.web_root, "/demo/",
                                 {"/console/"});
    net::server_options http;
    http.address = cfg.http_address;
    http.port = cfg.http_port;
    http.threads = static_cast<unsigned>(cfg.http_threads);
    http.body_limit = cfg.http_body_limit;
    http.header_timeout =
      std::max(std::chrono::seconds{1}, seconds_of(cfg.http_header_timeout));
    http.write_timeout = streams->write_timeout;
    http.tls = tls_of(cfg);
    public_server.emplace(http, public_routes);
    net::api::add_stream_routes(*public_server, *public_routes, streams);

    // Admin, on loopback by default: the operator's API, the debug routes,
    // /metrics and the console (which also calls the app API with an app's
    // key, so that is here too). What heraldctl and Prometheus use.
    if (!cfg.admin_token.empty()) {
      net::api::add_health_routes(*admin_routes, board, apps);
      api.add_routes(*admin_routes, net::api::http_api::audience::all);
      net::api::add_debug_routes(*admin_routes, debug);
      if (!cfg.web_root.empty())
        net::api::add_static_files(*admin_routes, cfg.web_root, "/console/");
      net::server_options admin;
      admin.address = cfg.admin_address;
      admin.port = cfg.admin_port;
      admin.threads = 1;
      admin.header_timeout = http.header_timeout;
      admin.write_timeout = http.write_timeout;
      admin_server.emplace(admin, admin_routes);
    }
  }

  const config& cfg;
  std::shared_ptr<net::admin_guard> admin_check;
  net::api::http_api api;
  std::shared_ptr<net::stream_context> streams;
  std::shared_ptr<net::router> public_routes = std::make_shared<net::router>();
  std::shared_ptr<net::router> admin_routes = std::make_shared<net::router>();
  std::optional<net::server> public_server;
  std::optional<net::server> admin_server;
  std::mutex engine_mutex;
  caf::actor engine;
};

front::front(const config& cfg, caf::actor_system& sys,
             std::shared_ptr<readiness_board> board,
             std::shared_ptr<app_directory> apps)
  : impl_(std::make_unique<impl>(cfg, sys, std::move(board), std::move(apps))) {
}

front::~front() {
  stop();
}

void front::start() {
  impl_->public_server->start();
  if (impl_->admin_server)
    impl_->admin_server->start();
}

void front::open_api() {
  impl_->api.open();
}

void front::set_engine(caf::actor root) {
  std::lock_guard<std::mutex> guard{impl_->engine_mutex};
  impl_->engine = std::move(root);
}

void front::stop() {
  // Sessions first, then the calls in flight, then forget the engine.
  impl_->public_server->stop();
  if (impl_->admin_server)
    impl_->admin_server->stop();
  impl_->api.stop();
  set_engine(nullptr);
}

uint16_t front::public_port() const {
  return impl_->public_server->port();
}

std::string front::public_url() const {
  return std::string{impl_->cfg.http_tls_cert.empty() ? "http://"
                                                      : "https://"} +
         impl_->cfg.http_address + ":" + std::to_string(public_port());
}

std::string front::admin_url() const {
  if (!impl_->admin_server)
    return {};
  return "http://" + impl_->cfg.admin_address + ":" +
         std::to_string(impl_->admin_server->port());
}

} // namespace herald::tools
