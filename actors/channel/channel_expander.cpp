#include "actors/channel/channel_expander.hpp"

#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "actors/wakeable_actor.hpp"
#include "core/log.hpp"
#include "storage/channel_expansion.hpp"
#include "storage/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace herald::actors {

namespace {

struct channel_expander_state {
  channel_expander_options options;
  std::unique_ptr<storage::channel_expansion> db;
  size_t messages = 0;
  size_t failures = 0;
  std::string last_error;
  bool retry_scheduled = false;
  static inline const char* name = "channel_expander";
};

using channel_expander_self =
  channel_expander_actor::stateful_base<channel_expander_state>;

void on_wake(channel_expander_self* self) {
  auto& st = self->state;
  try {
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
      return;
    if (auto router =
          self->system().registry().get<wakeable_actor>(names::channels))
      self->send(router, wake_atom_v);
    self->send(self, wake_atom_v);
  } catch (const std::exception& e) {
    ++st.failures;
    st.last_error = e.what();
    log::get("ingest")->warn("sms/mobile expansion failed, retrying: {}",
                             e.what());
    if (!st.retry_scheduled) {
      st.retry_scheduled = true;
      self->delayed_send(self, st.options.retry_delay, tick_atom_v);
    }
  }
}

channel_expander_actor::behavior_type
channel_expander_behavior(channel_expander_self* self,
                          channel_expander_options options) {
  auto& st = self->state;
  st.db = std::make_unique<storage::channel_expansion>(options.database_url);
  st.options = std::move(options);
  auto& sys = self->system();
  sys.registry().put(names::channel_expander, self);
  self->attach_functor([&sys, addr = self->address()](const caf::error&) {
    auto current = sys.registry().get(names::channel_expander);
    if (current && current->address() == addr)
      sys.registry().erase(names::channel_expander);
  });
  self->send(self, wake_atom_v);
  return {
    [self](wake_atom) { on_wake(self); },
    [self](tick_atom) {
      self->state.retry_scheduled = false;
      on_wake(self);
    },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{
        {"kind", "channel_expander"},  {"id", self->id()},
        {"messages", st.messages},     {"failures", st.failures},
        {"last_error", st.last_error}, {"mailbox", self->mailbox().size()}}
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
