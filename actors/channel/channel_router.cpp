#include "actors/channel/channel_sender.hpp"
#include "actors/messages.hpp"
#include "actors/type_ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/group.hpp>

#include <nlohmann/json.hpp>

namespace herald::actors {

std::string channel_group(const std::string& channel) {
  return "herald.channel." + channel;
}

caf::actor spawn_channel_router(caf::event_based_actor* parent) {
  auto router = parent->spawn([](caf::event_based_actor* self) {
    return caf::behavior{
      // New sms or mobile deliveries may be due: wake the senders.
      [self](wake_atom) {
        for (const char* channel : {"sms", "mobile"})
          self->send(self->system().groups().get_local(channel_group(channel)),
                     wake_atom_v);
      },
      [self](inspect_atom) {
        return nlohmann::json{{"kind", "channel_router"},
                              {"id", self->id()},
                              {"mailbox", self->mailbox().size()}}
          .dump();
      },
    };
  });
  parent->system().registry().put(names::channels, router);
  return router;
}

} // namespace herald::actors
