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

// How long a child may take to describe itself before the tree shows it as
// busy (a detached actor in the middle of a database call, say).
constexpr auto inspect_timeout = std::chrono::seconds{1};

// The node of one child as this supervisor knows it; the child's own
// description is merged in when it answers.
nlohmann::json child_node(supervisor_actor* self, const supervised_child& c) {
  using namespace std::chrono;
  auto uptime =
    duration_cast<milliseconds>(self->clock().now() - c.started).count();
  return {{"name", c.spec.name},
          {"id", c.handle ? c.handle.id() : 0},
          {"alive", static_cast<bool>(c.handle)},
          {"state", c.handle ? "running" : "down"},
          {"restarts", c.restarts},
          {"uptime_ms", uptime}};
}

// The whole subtree: this supervisor, and each child's own description
// (recursively, for supervisors below).
caf::result<std::string> describe(supervisor_actor* self) {
  using namespace std::chrono;
  auto& st = self->state;
  auto node = std::make_shared<nlohmann::json>(nlohmann::json{
    {"kind", "supervisor"},
    {"name", st.label},
    {"id", self->id()},
    {"state", "running"},
    {"child_restarts", st.total_restarts},
    {"mailbox", self->mailbox().size()},
    {"uptime_ms",
     duration_cast<milliseconds>(self->clock().now() - st.started).count()},
    {"children", nlohmann::json::array()}});
  std::vector<caf::actor> alive;
  for (const auto& c : st.children) {
    (*node)["children"].push_back(child_node(self, c));
    alive.push_back(c.handle);
  }
  auto waiting = std::make_shared<size_t>(0);
  for (const auto& handle : alive)
    if (handle)
      ++*waiting;
  if (*waiting == 0)
    return node->dump();
  auto rp = self->make_response_promise<std::string>();
  for (size_t i = 0; i < alive.size(); ++i) {
    if (!alive[i])
      continue;
    auto done = [node, waiting, rp]() mutable {
      if (--*waiting == 0)
        rp.deliver(node->dump());
    };
    self->request(alive[i], inspect_timeout, inspect_atom_v)
      .then(
        [node, i, done](const std::string& text) mutable {
          auto own = nlohmann::json::parse(text, nullptr, false);
          auto& entry = (*node)["children"][i];
          if (own.is_object())
            for (auto& [key, value] : own.items())
              if (key != "name" && key != "restarts")
                entry[key] = value;
          done();
        },
        [node, i, done](caf::error&) mutable {
          (*node)["children"][i]["state"] = "unresponsive";
          done();
        });
  }
  return rp;
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
    [self](inspect_atom) -> caf::result<std::string> { return describe(self); },
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
