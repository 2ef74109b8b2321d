#include "actors/supervisor.hpp"

#include "actors/errc.hpp"
#include "actors/type_ids.hpp"
#include "core/log.hpp"

#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace herald::actors {

namespace {

bool should_restart(const supervised_child& child, const caf::error& reason) {
  switch (child.spec.policy) {
    case restart_policy::permanent:
      return true;
    case restart_policy::transient:
      return reason != caf::exit_reason::normal;
    case restart_policy::temporary:
      return false;
  }
  return false;
}

void start_child(supervisor_actor* self, supervised_child& child) {
  child.handle = child.spec.start(self);
  child.started = self->clock().now();
  // Monitored, not linked: a link would also deliver the child's exit as an
  // exit_msg, indistinguishable from the parent's once the child is gone.
  // The supervisor stops its children itself when it exits.
  self->monitor(child.handle);
}

void stop_children(supervisor_actor* self, const caf::error& reason) {
  for (auto& child : self->state.children)
    if (child.handle)
      self->send_exit(child.handle, reason);
}

// Records a restart; false when the intensity limit is now exceeded.
bool within_intensity(supervisor_actor* self) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.recent_restarts.push_back(now);
  while (!st.recent_restarts.empty() &&
         now - st.recent_restarts.front() > st.options.window)
    st.recent_restarts.pop_front();
  return st.recent_restarts.size() <= st.options.max_restarts;
}

void on_child_down(supervisor_actor* self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto logger = log::get("actors");
  auto it = std::find_if(st.children.begin(), st.children.end(),
                         [&](const auto& c) { return c.handle == msg.source; });
  if (it == st.children.end())
    return;
  auto reason = self->system().render(msg.reason);
  it->handle = nullptr;
  if (!should_restart(*it, msg.reason)) {
    logger->info("{}: child {} exited ({}), not restarted", st.label,
                 it->spec.name, reason);
    return;
  }
  if (!within_intensity(self)) {
    logger->error(
      "{}: child {} exited ({}); more than {} restarts within "
      "{} ms, escalating",
      st.label, it->spec.name, reason, st.options.max_restarts,
      std::chrono::duration_cast<std::chrono::milliseconds>(st.options.window)
        .count());
    auto err = caf::make_error(errc::restart_intensity);
    stop_children(self, err);
    self->quit(err);
    return;
  }
  logger->warn("{}: child {} exited ({}), restarting", st.label, it->spec.name,
               reason);
  ++it->restarts;
  ++st.total_restarts;
  start_child(self, *it);
}

std::string describe(supervisor_actor* self) {
  using namespace std::chrono;
  auto& st = self->state;
  auto now = self->clock().now();
  auto uptime_ms = [&](caf::actor_clock::time_point since) {
    return duration_cast<milliseconds>(now - since).count();
  };
  nlohmann::json children = nlohmann::json::array();
  for (const auto& c : st.children)
    children.push_back({{"name", c.spec.name},
                        {"id", c.handle ? c.handle.id() : 0},
                        {"alive", static_cast<bool>(c.handle)},
                        {"restarts", c.restarts},
                        {"uptime_ms", uptime_ms(c.started)}});
  nlohmann::json j{{"kind", "supervisor"},
                   {"name", st.label},
                   {"id", self->id()},
                   {"restarts", st.total_restarts},
                   {"uptime_ms", uptime_ms(st.started)},
                   {"children", std::move(children)}};
  return j.dump();
}

} // namespace

caf::behavior supervisor(supervisor_actor* self, std::string label,
                         supervisor_options options,
                         std::vector<child_spec> children) {
  auto& st = self->state;
  st.label = std::move(label);
  st.options = options;
  st.started = self->clock().now();
  self->set_down_handler(
    [self](caf::down_msg& msg) { on_child_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    stop_children(self, msg.reason);
    self->quit(msg.reason);
  });
  self->set_exception_handler([self](std::exception_ptr&) -> caf::error {
    auto err = caf::make_error(caf::sec::runtime_error, "supervisor failed");
    stop_children(self, err);
    return err;
  });
  for (auto& spec : children) {
    st.children.push_back(supervised_child{std::move(spec), nullptr, 0, {}});
    start_child(self, st.children.back());
  }
  return {
    [self](inspect_atom) { return describe(self); },
  };
}

child_spec supervisor_child(std::string label, supervisor_options options,
                            std::vector<child_spec> children) {
  child_spec spec;
  spec.name = label;
  spec.start = [label, options,
                children](caf::event_based_actor* parent) -> caf::actor {
    return parent->spawn(supervisor, label, options, children);
  };
  return spec;
}

} // namespace herald::actors
