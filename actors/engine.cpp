#include "actors/engine.hpp"

namespace herald::actors {

caf::actor spawn_engine(caf::actor_system& sys, engine_options options,
                        std::shared_ptr<readiness_board> board) {
  std::vector<child_spec> children;
  children.push_back(child_spec{
    "health",
    [health = options.health, board](caf::event_based_actor* parent) {
      return spawn_health_monitor(parent, health, board);
    },
    restart_policy::permanent});
  return sys.spawn(supervisor, std::string{"root"}, options.root_supervision,
                   std::move(children));
}

} // namespace herald::actors
