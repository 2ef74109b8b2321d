// heraldd: the Herald engine. Applies migrations, starts the actor tree and
// the public listener, and shuts down in order on SIGINT or SIGTERM.

#include "actors/engine.hpp"
#include "actors/type_ids.hpp"
#include "core/app_directory.hpp"
#include "core/log.hpp"
#include "core/readiness.hpp"
#include "net/api/demo_routes.hpp"
#include "net/api/health_routes.hpp"
#include "net/api/http_api.hpp"
#include "net/api/static_files.hpp"
#include "net/api/stream_routes.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "storage/error.hpp"
#include "storage/migrations.hpp"
#include "storage/node_registry.hpp"
#include "tools/heraldd/config.hpp"
#include "tools/heraldd/signals.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <unistd.h>

#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown"
#endif

namespace {

using namespace herald;

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0)
    return "unknown";
  return buf;
}

// Applies the bundled migrations, waiting for the database while it is
// unreachable. False when a signal arrived first; throws storage::error for
// problems that waiting cannot fix (a changed or failing migration).
bool migrate(const std::string& url, readiness_board& board,
             tools::shutdown_signal& signal) {
  auto logger = log::get("storage");
  for (;;) {
    try {
      auto report =
        storage::apply_migrations(url, storage::bundled_migrations());
      logger->info("schema up to date ({} applied now, {} before)",
                   report.applied.size(), report.already_applied.size());
      return true;
    } catch (const storage::error& e) {
      if (e.code() != storage::errc::unreachable)
        throw;
      board.set(false, std::string{"database unreachable: "} + e.what());
      logger->warn("database unreachable, retrying: {}", e.what());
    }
    if (signal.wait_for(std::chrono::seconds{1}))
      return false;
  }
}

std::shared_ptr<net::stream_context>
make_stream_context(const tools::config& cfg, caf::actor_system& sys,
                    std::shared_ptr<const app_directory> apps) {
  using std::chrono::seconds;
  auto at_least_a_second = [](caf::timespan t) {
    return std::max(seconds{1}, std::chrono::duration_cast<seconds>(t));
  };
  auto streams = std::make_shared<net::stream_context>();
  streams->system = &sys;
  streams->user_shards = cfg.user_shards;
  streams->apps = std::move(apps);
  streams->max_queued_bytes = cfg.max_queued_bytes;
  streams->max_frame_bytes = cfg.max_frame_bytes;
  streams->hello_timeout = at_least_a_second(cfg.hello_timeout);
  streams->write_timeout = at_least_a_second(cfg.write_timeout);
  return streams;
}

actors::engine_options make_engine_options(const tools::config& cfg,
                                           uint16_t port) {
  actors::engine_options opts;
  opts.health.database_url = cfg.database_url;
  opts.health.migrations = storage::bundled_migrations();
  opts.health.interval = cfg.readiness_interval;
  opts.health.node = {storage::random_uuid(), hostname(),
                      static_cast<int>(getpid()), HERALD_VERSION,
                      cfg.http_address + ":" + std::to_string(port)};
  opts.listener.database_url = cfg.database_url;
  opts.listener.poll_interval = cfg.ingest_poll_interval;
  opts.expander.database_url = cfg.database_url;
  opts.expander.batch_size = cfg.ingest_batch_size;
  opts.expanders = cfg.ingest_expanders;
  opts.user_shards = cfg.user_shards;
  opts.users.ack_timeout = cfg.ack_timeout;
  opts.users.max_unacked = cfg.max_unacked;
  opts.users.max_sessions = cfg.max_sessions;
  return opts;
}

net::api::http_api_options
make_api_options(const tools::config& cfg,
                 std::shared_ptr<app_directory> apps) {
  net::api::http_api_options opts;
  opts.database_url = cfg.database_url;
  opts.threads = cfg.api_threads;
  opts.admin_token = cfg.admin_token;
  opts.rate_limit = cfg.api_rate_limit;
  opts.rate_burst = cfg.api_rate_burst;
  opts.token_ttl =
    std::chrono::duration_cast<std::chrono::seconds>(cfg.api_token_ttl);
  opts.apps = std::move(apps);
  return opts;
}

int run(tools::config& cfg, tools::shutdown_signal& signal) {
  auto logger = log::get("heraldd");
  caf::actor_system sys{cfg};
  auto board = std::make_shared<readiness_board>();
  auto apps = std::make_shared<app_directory>();

  auto routes = std::make_shared<net::router>();
  net::api::add_health_routes(*routes, board);
  net::server_options http;
  http.address = cfg.http_address;
  http.port = cfg.http_port;
  http.threads = static_cast<unsigned>(cfg.http_threads);
  http.body_limit = cfg.http_body_limit;
  if (!cfg.http_tls_cert.empty()) {
    try {
      http.tls = net::make_tls_context(cfg.http_tls_cert, cfg.http_tls_key);
    } catch (const std::exception& e) {
      logger->critical("{}", e.what());
      return 1;
    }
  }
  net::api::http_api api{make_api_options(cfg, apps)};
  api.add_routes(*routes);
  if (!cfg.web_demo_app.empty()) {
    logger->warn("web.demo-app: POST /v1/demo/token mints tokens of app "
                 "'{}' for anyone; for development only",
                 cfg.web_demo_app);
    net::api::add_demo_routes(
      *routes, apps, cfg.web_demo_app,
      std::chrono::duration_cast<std::chrono::seconds>(cfg.api_token_ttl));
  }
  if (!cfg.web_root.empty())
    net::api::add_static_files(*routes, cfg.web_root, "/demo/");
  net::server server{http, routes};
  net::api::add_stream_routes(server, *routes,
                              make_stream_context(cfg, sys, apps));
  server.start();
  auto base_url = std::string{http.tls ? "https://" : "http://"} +
                  cfg.http_address + ":" + std::to_string(server.port());
  std::cout << "Herald " << HERALD_VERSION << " listening on " << base_url
            << "\n  health:    " << base_url << "/healthz"
            << "\n  readiness: " << base_url << "/readyz" << std::endl;

  bool migrated = false;
  try {
    migrated = migrate(cfg.database_url, *board, signal);
  } catch (const storage::error& e) {
    logger->critical("cannot apply migrations: {}", e.what());
    server.stop();
    return 1;
  }
  if (!migrated) {
    server.stop();
    return 0;
  }

  api.open();
  auto engine = actors::spawn_engine(
    sys, make_engine_options(cfg, server.port()), board, apps);
  std::atomic<bool> engine_down{false};
  engine->attach_functor([&engine_down, &signal](const caf::error& reason) {
    if (reason && reason != caf::exit_reason::user_shutdown)
      log::get("heraldd")->critical("actor tree stopped: {}",
                                    caf::to_string(reason));
    engine_down = true;
    signal.notify();
  });

  signal.wait();
  logger->info("shutting down");
  // The order of CONVENTIONS.md: stop accepting and close sessions, stop the
  // io_context, then the actor tree. Wait for it here, while the functor
  // above can still reach engine_down.
  server.stop();
  api.stop();
  caf::anon_send_exit(engine, caf::exit_reason::user_shutdown);
  engine = nullptr;
  sys.await_all_actors_done();
  return engine_down && !signal.received() ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so that every thread inherits the mask and
  // the signals reach only shutdown_signal.
  herald::tools::shutdown_signal signal;
  herald::tools::config cfg;
  herald::actors::register_types(cfg);
  if (auto err = cfg.parse(argc, argv, "herald.ini")) {
    std::cerr << "heraldd: " << cfg.render(err) << std::endl;
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (!herald::log::set_level(cfg.log_level)) {
    std::cerr << "heraldd: unknown log.level '" << cfg.log_level << "'\n";
    return 2;
  }
  if (auto problem = cfg.finish(); !problem.empty()) {
    std::cerr << "heraldd: " << problem << std::endl;
    return 2;
  }
  try {
    return run(cfg, signal);
  } catch (const std::exception& e) {
    herald::log::get("heraldd")->critical("{}", e.what());
    return 1;
  }
}
