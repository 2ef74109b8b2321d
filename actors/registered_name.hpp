#pragma once

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

namespace herald::actors {

/// Registers `self` as `name` in the actor system's registry, so that those
/// who talk to it find it again after a restart, and erases the name when
/// `self` ends, unless a successor has taken it meanwhile (a restarted
/// actor registers before its predecessor's cleanup has run).
template <class Self>
void register_while_alive(Self* self, caf::atom_value name) {
  auto& sys = self->system();
  sys.registry().put(name, self);
  self->attach_functor([&sys, name, addr = self->address()](const caf::error&) {
    auto current = sys.registry().get(name);
    if (current && current->address() == addr)
      sys.registry().erase(name);
  });
}

} // namespace herald::actors
