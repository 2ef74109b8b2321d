#include "actors/health_monitor.hpp"

#include "actors/type_ids.hpp"
#include "core/log.hpp"
#include "core/readiness.hpp"
#include "storage/error.hpp"
#include "storage/readiness_probe.hpp"

#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace herald::actors {

namespace {

struct health_state {
  std::unique_ptr<storage::readiness_probe> probe;
  std::unique_ptr<storage::node_registry> registry;
  std::shared_ptr<readiness_board> board;
  caf::timespan interval;
  bool last_ready = false;
  std::string last_reason = "starting";
  size_t checks = 0;
  static inline const char* name = "health_monitor";

  ~health_state() {
    if (registry)
      registry->unregister();
  }
};

using health_actor = caf::stateful_actor<health_state>;

void check_once(health_actor* self) {
  auto& st = self->state;
  auto result = st.probe->check();
  if (result.ready) {
    try {
      st.registry->heartbeat();
    } catch (const storage::error& e) {
      result = {false, e.what()};
    }
  }
  ++st.checks;
  if (result.ready != st.last_ready || result.reason != st.last_reason) {
    auto logger = log::get("storage");
    if (result.ready)
      logger->info("database ready");
    else
      logger->warn("not ready: {}", result.reason);
  }
  st.last_ready = result.ready;
  st.last_reason = result.reason;
  st.board->set(result.ready, result.reason);
}

caf::behavior health_monitor(health_actor* self, health_monitor_options options,
                             std::shared_ptr<readiness_board> board) {
  auto& st = self->state;
  st.probe = std::make_unique<storage::readiness_probe>(
    options.database_url, std::move(options.migrations));
  st.registry = std::make_unique<storage::node_registry>(
    options.database_url, std::move(options.node));
  st.board = std::move(board);
  st.interval = options.interval;
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) {
      check_once(self);
      self->delayed_send(self, self->state.interval, tick_atom_v);
    },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{
        {"kind", "health_monitor"},          {"id", self->id()},
        {"mailbox", self->mailbox().size()}, {"ready", st.last_ready},
        {"reason", st.last_reason},          {"checks", st.checks}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_health_monitor(caf::event_based_actor* parent,
                                health_monitor_options options,
                                std::shared_ptr<readiness_board> board) {
  return parent->spawn<caf::detached>(health_monitor, std::move(options),
                                      std::move(board));
}

} // namespace herald::actors
