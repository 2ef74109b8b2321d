#include "actors/stream/tailer.hpp"

#include "actors/messages.hpp"
#include "actors/registered_name.hpp"
#include "actors/retry_loop.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/messages.hpp"
#include "actors/user/routing.hpp"
#include "core/log.hpp"
#include "storage/error.hpp"
#include "storage/log_reader.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace herald::actors {

namespace {

struct tailer_state {
  tailer_options options;
  std::shared_ptr<tail_cursor> tail;
  std::unique_ptr<storage::log_source> log;
  size_t batches = 0;
  size_t entries = 0;
  /// Batches an expander here handed over that went out without a read.
  size_t handed_over = 0;
  retry_loop retry;
  static inline const char* name = "tailer";
};

using tailer_self = tailer_actor::stateful_base<tailer_state>;

// The cursor moves before the batch is sent: a shard registering in the
// meantime either gets the batch or starts after it (tail_cursor).
void hand_out(tailer_self* self,
              std::shared_ptr<const storage::log_batch> batch) {
  auto& st = self->state;
  st.tail->dispatched.store(batch->through);
  auto& reg = self->system().registry();
  for (size_t i = 0; i < st.options.shards; ++i)
    if (auto shard = reg.get<user_shard_actor>(shard_name(i)))
      self->send(shard, tailed{batch});
}

void hand_out(tailer_self* self, storage::log_batch batch) {
  hand_out(self, std::make_shared<const storage::log_batch>(std::move(batch)));
}

// An expander here committed `batch`. Right after the cursor it is what a
// read would return (every position below it is committed), so it goes
// out as it is; past a gap (another engine's commits, a batch of another
// expander not here yet) the read fills the gap and takes it too; at or
// below the cursor a read has already handed it out.
void take_expanded(tailer_self* self,
                   std::shared_ptr<const storage::log_batch> batch) {
  auto& st = self->state;
  auto dispatched = st.tail->dispatched.load();
  if (dispatched >= 0 && batch->after == dispatched) {
    ++st.handed_over;
    st.entries += batch->entries.size();
    hand_out(self, std::move(batch));
  } else if (batch->through > dispatched) {
    st.retry.wake(self);
  }
}

// Up to batches_per_turn batches; true when more may be there.
bool tail_some(tailer_self* self) {
  auto& st = self->state;
  if (st.tail->dispatched.load() < 0) {
    auto head = st.log->head();
    log::get("ingest")->info("tailing the stream log from position {}", head);
    hand_out(self, storage::log_batch{head, head, {}});
  }
  for (size_t i = 0; i < st.options.batches_per_turn; ++i) {
    auto after = st.tail->dispatched.load();
    auto batch = st.log->read_after(after, st.options.batch_positions);
    if (batch.through <= after)
      return false;
    ++st.batches;
    st.entries += batch.entries.size();
    auto full = batch.through - after >= st.options.batch_positions;
    hand_out(self, std::move(batch));
    if (!full)
      return false;
  }
  return true;
}

void run_turn(tailer_self* self) {
  self->state.retry.run(self, "tailing the log",
                        self->state.options.retry_delay,
                        [self] { return tail_some(self); });
}

tailer_actor::behavior_type tailer_behavior(tailer_self* self,
                                            tailer_options options,
                                            std::shared_ptr<tail_cursor> tail) {
  auto& st = self->state;
  if (options.open_log)
    st.log = options.open_log();
  else
    st.log = std::make_unique<storage::log_reader>(options.database_url);
  st.options = std::move(options);
  st.tail = std::move(tail);
  register_while_alive(self, names::tailer);
  self->send(self, wake_atom_v);
  return {
    [self](wake_atom) { self->state.retry.wake(self); },
    [self](expanded_here& msg) { take_expanded(self, std::move(msg.batch)); },
    [self](turn_atom) { run_turn(self); },
    [self](tick_atom) {
      self->state.retry.on_tick();
      run_turn(self);
    },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{{"kind", "tailer"},
                            {"id", self->id()},
                            {"position", st.tail->dispatched.load()},
                            {"batches", st.batches},
                            {"handed_over", st.handed_over},
                            {"entries", st.entries},
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

tailer_actor spawn_tailer(caf::event_based_actor* parent,
                          tailer_options options,
                          std::shared_ptr<tail_cursor> tail) {
  if (!options.detached)
    return parent->spawn(tailer_behavior, std::move(options), std::move(tail));
  return parent->spawn<caf::detached>(tailer_behavior, std::move(options),
                                      std::move(tail));
}

} // namespace herald::actors
