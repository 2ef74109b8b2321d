#include "actors/channel/channel_expander.hpp"

#include "actors/messages.hpp"
#include "actors/registered_name.hpp"
#include "actors/retry_loop.hpp"
#include "actors/type_ids.hpp"
#include "actors/wakeable_actor.hpp"
#include "storage/channel_expansion.hpp"
#include "storage/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>

namespace herald::actors {

namespace {

struct channel_expander_state {
  channel_expander_options options;
  std::unique_ptr<storage::channel_expansion> db;
  size_t messages = 0;
  retry_loop retry;
  static inline const char* name = "channel_expander";
};

using channel_expander_self =
  channel_expander_actor::stateful_base<channel_expander_state>;

void run_turn(channel_expander_self* self) {
  auto& st = self->state;
  st.retry.run(self, "sms/mobile expansion", st.options.retry_delay, [&] {
    size_t taken = 0;
    // A few batches per turn, so that an exit is not stuck behind a long
    // backlog; more follow after the mailbox.
    for (int i = 0; i < 10; ++i) {
      auto n = st.db->expand_batch(st.options.batch_size);
      taken += n;
      if (n < st.options.batch_size)
        break;
    }
    st.messages += taken;
    if (taken == 0)
      return false;
    if (auto router =
          self->system().registry().get<wakeable_actor>(names::channels))
      self->send(router, wake_atom_v);
    return true;
  });
}

channel_expander_actor::behavior_type
channel_expander_behavior(channel_expander_self* self,
                          channel_expander_options options) {
  auto& st = self->state;
  st.db = std::make_unique<storage::channel_expansion>(options.database_url);
  st.options = std::move(options);
  register_while_alive(self, names::channel_expander);
  self->send(self, wake_atom_v);
  return {
    [self](wake_atom) { self->state.retry.wake(self); },
    [self](turn_atom) { run_turn(self); },
    [self](tick_atom) {
      self->state.retry.on_tick();
      run_turn(self);
    },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{{"kind", "channel_expander"},
                            {"id", self->id()},
                            {"messages", st.messages},
                            {"wakes", st.retry.wakes},
                            {"turns", st.retry.turns},
                            {"failures", st.retry.failures},
                            {"last_error", st.retry.last_error},
                            {"mailbox", self->mailbox().size()}}
        .dump();
    },
  };
}

} // namespace

channel_expander_actor
spawn_channel_expander(caf::event_based_actor* parent,
                       channel_expander_options options) {
  return parent->spawn<caf::detached>(channel_expander_behavior,
                                      std::move(options));
}

} // namespace herald::actors
