#include "actors/type_ids.hpp"

#include "actors/errc.hpp"

#include <caf/actor_system_config.hpp>

namespace herald::actors {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::herald>();
  // The templated add_error_category<T> of 0.17.6 does not compile; give
  // the renderer directly.
  cfg.add_error_category(caf::atom("herald"), [](uint8_t code, caf::atom_value,
                                                 const caf::message&) {
    return "herald::" + to_string(static_cast<errc>(code));
  });
}

} // namespace herald::actors
