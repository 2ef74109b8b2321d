#include "actors/engine.hpp"

#include "actors/template/template_registry.hpp"

namespace herald::actors {

caf::actor spawn_engine(caf::actor_system& sys, engine_options options,
                        std::shared_ptr<readiness_board> board) {
  using caf::event_based_actor;
  std::vector<child_spec> templates{
    {"registry",
     [](event_based_actor* parent) { return spawn_template_registry(parent); },
     restart_policy::permanent},
  };
  std::vector<child_spec> ingest{
    {"listener",
     [opts = options.listener](event_based_actor* parent) {
       return spawn_listener(parent, opts);
     },
     restart_policy::permanent},
  };
  for (size_t i = 1; i <= std::max<size_t>(1, options.expanders); ++i)
    ingest.push_back({"expander-" + std::to_string(i),
                      [opts = options.expander](event_based_actor* parent) {
                        return spawn_expander(parent, opts);
                      },
                      restart_policy::permanent});
  std::vector<child_spec> root{
    {"health",
     [health = options.health, board](event_based_actor* parent) {
       return spawn_health_monitor(parent, health, board);
     },
     restart_policy::permanent},
    supervisor_child("templates", options.supervision, std::move(templates)),
    supervisor_child("ingest", options.supervision, std::move(ingest)),
  };
  return sys.spawn(supervisor, std::string{"root"}, options.supervision,
                   std::move(root));
}

} // namespace herald::actors
