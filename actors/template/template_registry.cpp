#include "actors/template/template_registry.hpp"

#include "actors/messages.hpp"
#include "actors/registered_name.hpp"
#include "actors/template/template_actor.hpp"
#include "actors/type_ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <utility>

namespace herald::actors {

namespace {

struct registry_state {
  std::map<std::pair<int64_t, std::string>, caf::actor> actors;
  size_t started = 0;
  static inline const char* name = "template_registry";
};

using registry_actor = caf::stateful_actor<registry_state>;

caf::behavior registry_behavior(registry_actor* self) {
  register_while_alive(self, names::templates);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& actors = self->state.actors;
    for (auto it = actors.begin(); it != actors.end(); ++it)
      if (it->second.address() == msg.source) {
        actors.erase(it);
        return;
      }
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [key, actor] : self->state.actors)
      self->send_exit(actor, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [self](render_request& req) {
      auto key = std::make_pair(req.app_id, req.code);
      auto& actor = self->state.actors[key];
      if (!actor) {
        actor = spawn_template_actor(self, req.app_id, req.code);
        self->monitor(actor);
        ++self->state.started;
      }
      return self->delegate(actor, std::move(req));
    },
    [self](crash_atom, int64_t app_id, const std::string& code) {
      auto it = self->state.actors.find(std::make_pair(app_id, code));
      if (it != self->state.actors.end())
        self->send(it->second, crash_atom_v);
    },
    [self](inspect_atom) {
      nlohmann::json children = nlohmann::json::array();
      for (const auto& [key, actor] : self->state.actors)
        children.push_back(
          {{"kind", "template"},
           {"name", std::to_string(key.first) + "/" + key.second},
           {"id", actor.id()}});
      return nlohmann::json{{"kind", "template_registry"},
                            {"id", self->id()},
                            {"mailbox", self->mailbox().size()},
                            {"started", self->state.started},
                            {"children", std::move(children)}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_template_registry(caf::event_based_actor* parent) {
  return parent->spawn(registry_behavior);
}

} // namespace herald::actors
