// heraldd: the Herald engine. Applies migrations, starts the actor tree and
// the public listener, and shuts down in order on SIGINT or SIGTERM.

#include "actors/engine.hpp"
#include "actors/type_ids.hpp"
#include "core/app_directory.hpp"
#include "core/log.hpp"
#include "core/readiness.hpp"
#include "storage/error.hpp"
#include "storage/migrations.hpp"
#include "storage/node_registry.hpp"
#include "tools/heraldd/config.hpp"
#include "tools/heraldd/front.hpp"
#include "tools/heraldd/signals.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <optional>
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
  opts.users.passivate_after = cfg.passivate_after;
  opts.users.max_unacked = cfg.max_unacked;
  opts.users.max_sessions = cfg.max_sessions;
  auto ms = [](caf::timespan t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t);
  };
  opts.channel_senders = cfg.channel_senders;
  opts.channels.database_url = cfg.database_url;
  opts.channels.poll_interval = ms(cfg.channel_poll_interval);
  opts.channels.lease = ms(cfg.channel_lease);
  opts.channels.backoff.base = ms(cfg.channel_retry_base);
  opts.channels.backoff.max = ms(cfg.channel_retry_max);
  return opts;
}

int run(tools::config& cfg, tools::shutdown_signal& signal) {
  auto logger = log::get("heraldd");
  caf::actor_system sys{cfg};
  auto board = std::make_shared<readiness_board>();
  auto apps = std::make_shared<app_directory>();

  std::optional<tools::front> front;
  try {
    front.emplace(cfg, sys, board, apps);
    front->start();
  } catch (const std::exception& e) {
    logger->critical("{}", e.what());
    return 1;
  }
  auto base_url = front->public_url();
  std::cout << "Herald " << HERALD_VERSION << " listening on " << base_url
            << "\n  health:    " << base_url << "/healthz"
            << "\n  readiness: " << base_url << "/readyz";
  if (auto admin = front->admin_url(); !admin.empty())
    std::cout << "\n  admin:     " << admin << " (heraldctl --url=" << admin
              << ")"
              << "\n  console:   " << admin << "/console/";
  std::cout << std::endl;

  bool migrated = false;
  try {
    migrated = migrate(cfg.database_url, *board, signal);
  } catch (const storage::error& e) {
    logger->critical("cannot apply migrations: {}", e.what());
    front->stop();
    return 1;
  }
  if (!migrated) {
    front->stop();
    return 0;
  }

  front->open_api();
  auto engine = actors::spawn_engine(
    sys, make_engine_options(cfg, front->public_port()), board, apps);
  front->set_engine(engine);
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
  front->stop();
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
