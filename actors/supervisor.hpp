#pragma once

// CAF 0.17 has no supervisor; this is ours. One-for-one: a child that dies
// is restarted alone. More than `max_restarts` restarts within `window`
// and the supervisor gives up: it stops its children and exits with
// errc::restart_intensity, so that its own parent decides what happens next.

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace herald::actors {

/// When a child that has exited is started again.
enum class restart_policy {
  /// Always, whatever the exit reason.
  permanent,
  /// Only after an abnormal exit.
  transient,
  /// Never.
  temporary,
};

/// How to start one child. `start` spawns it from the supervisor (use
/// `parent->spawn<caf::detached>(...)` for actors that block).
struct child_spec {
  std::string name;
  std::function<caf::actor(caf::event_based_actor* parent)> start;
  restart_policy policy = restart_policy::permanent;
};

struct supervisor_options {
  size_t max_restarts = 5;
  caf::timespan window = std::chrono::seconds{10};
};

struct supervised_child {
  child_spec spec;
  caf::actor handle;
  size_t restarts = 0;
  caf::actor_clock::time_point started;
};

struct supervisor_state {
  std::string label;
  supervisor_options options;
  std::vector<supervised_child> children;
  std::deque<caf::actor_clock::time_point> recent_restarts;
  size_t total_restarts = 0;
  caf::actor_clock::time_point started;
  static inline const char* name = "supervisor";
};

using supervisor_actor = caf::stateful_actor<supervisor_state>;

/// The behavior of a supervisor named `label` over `children`, started in
/// order. Answers inspect_atom with a JSON description of itself.
caf::behavior supervisor(supervisor_actor* self, std::string label,
                         supervisor_options options,
                         std::vector<child_spec> children);

/// A child spec that runs a nested supervisor.
child_spec supervisor_child(std::string label, supervisor_options options,
                            std::vector<child_spec> children);

} // namespace herald::actors
