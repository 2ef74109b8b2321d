#include "actors/ingest/expander.hpp"

#include "actors/channel/channel_expander_actor.hpp"
#include "actors/messages.hpp"
#include "actors/registered_name.hpp"
#include "actors/retry_loop.hpp"
#include "actors/stream/tailer_actor.hpp"
#include "actors/type_ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/rendered_json.hpp"
#include "core/template_renderer.hpp"
#include "storage/error.hpp"
#include "storage/expansion.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <unordered_map>
#include <variant>

namespace herald::actors {

namespace {

struct expander_state {
  size_t index = 0; ///< from 1: expander_name(index)
  expander_options options;
  std::unique_ptr<storage::outbox_expander> db;
  /// Compiled template versions by id. A version's texts never change
  /// (approval makes a new version current), so an entry is never stale;
  /// the cache is bounded by dropping it whole.
  std::unordered_map<int64_t, compiled_template> templates;
  size_t batches = 0;
  size_t messages = 0;
  size_t rejected = 0;
  size_t renders = 0;
  int64_t last_position = 0;
  retry_loop retry;
  static inline const char* name = "expander";
};

using expander_self = expander_actor::stateful_base<expander_state>;

constexpr size_t cached_templates = 1024;

/// The largest rendered output a message may have: with its vars it must
/// fit a session's byte budget (schema/0009, herald.max_vars_bytes).
constexpr size_t max_rendered_bytes = 2 * 1024 * 1024;

// Renders in this thread from the compiled version: no hop to another
// actor and back per message, and nothing blocks while rows are locked
// except this pure code.
storage::render_outcome render(expander_state& st,
                               const storage::claimed_message& msg) {
  using storage::render_outcome;
  if (!msg.approved)
    return render_outcome::rejected("template_not_approved",
                                    "template " + msg.template_code +
                                      " has no approved version");
  auto it = st.templates.find(msg.approved->id);
  if (it == st.templates.end()) {
    auto compiled = compiled_template::compile(msg.approved->source);
    if (auto err = std::get_if<template_error>(&compiled))
      return render_outcome::rejected(err->code, err->message);
    if (st.templates.size() >= cached_templates)
      st.templates.clear();
    it = st.templates
           .emplace(msg.approved->id,
                    std::get<compiled_template>(std::move(compiled)))
           .first;
  }
  auto rendered = render_json(it->second, msg.vars_json, msg.channels);
  if (auto err = std::get_if<template_error>(&rendered))
    return render_outcome::rejected(err->code, err->message);
  ++st.renders;
  auto& json = std::get<std::string>(rendered);
  if (json.size() + msg.vars_json.size() > max_rendered_bytes)
    return render_outcome::rejected(
      "message_too_large",
      "the rendered message and its data are " +
        std::to_string(json.size() + msg.vars_json.size()) +
        " bytes, more than the " + std::to_string(max_rendered_bytes) +
        " a message may have");
  return render_outcome::rendered(std::move(json));
}

// After a commit: this engine's tailer gets the entries in memory (the
// NOTIFY wakes the other engines' tailers, and the listener here skips
// it: local_writers), or a wake-up to read them for a batch too large to
// be answered with its entries; and the channel step runs if some message
// has sms or mobile texts.
void announce(expander_self* self, storage::batch_result& result) {
  auto& reg = self->system().registry();
  if (result.last_position > 0) {
    if (auto tailer = reg.get<tailer_actor>(names::tailer)) {
      if (result.logged_in_full)
        self->send(tailer, expanded_here{std::make_shared<storage::log_batch>(
                             std::move(result.logged))});
      else
        self->send(tailer, wake_atom_v);
    }
  }
  if (result.channel_work)
    if (auto channels =
          reg.get<channel_expander_actor>(names::channel_expander))
      self->send(channels, wake_atom_v);
}

// Up to batches_per_turn batches; true when more may be pending.
bool expand_some(expander_self* self) {
  auto& st = self->state;
  auto logger = log::get("ingest");
  auto render_fn = [&st](const storage::claimed_message& m) {
    return render(st, m);
  };
  for (size_t i = 0; i < st.options.batches_per_turn; ++i) {
    auto result = st.db->expand_batch(st.options.batch_size, render_fn);
    if (result.read == 0)
      return false;
    ++st.batches;
    st.messages += result.claimed;
    st.rejected += result.rejected;
    st.last_position = std::max(st.last_position, result.last_position);
    metrics::messages_expanded(result.claimed - result.rejected,
                               result.rejected, 0, 0);
    logger->debug("expanded {} message(s) ({} rejected) at positions {}-{}",
                  result.claimed, result.rejected, result.first_position,
                  result.last_position);
    announce(self, result);
    if (result.read < st.options.batch_size)
      return false;
  }
  return true;
}

// After every turn, failed or not: the connection it used (none after a
// failure that dropped it) is what the listener skips.
void run_turn(expander_self* self) {
  auto& st = self->state;
  st.retry.run(self, "expansion", st.options.retry_delay,
               [self] { return expand_some(self); });
  if (st.options.writers)
    st.options.writers->set(st.index - 1, st.db->backend_pid());
}

expander_actor::behavior_type
expander_behavior(expander_self* self, size_t index, expander_options options) {
  auto& st = self->state;
  st.db = std::make_unique<storage::outbox_expander>(options.database_url);
  st.index = index;
  st.options = std::move(options);
  register_while_alive(self, expander_name(index));
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
      return nlohmann::json{{"kind", "expander"},
                            {"id", self->id()},
                            {"batches", st.batches},
                            {"messages", st.messages},
                            {"rejected", st.rejected},
                            {"renders", st.renders},
                            {"templates_cached", st.templates.size()},
                            {"last_position", st.last_position},
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

caf::atom_value expander_name(size_t index) {
  // Atoms hold at most 10 characters: "expand" and up to four digits.
  return caf::atom_from_string("expand" + std::to_string(index % 10000));
}

expander_actor spawn_expander(caf::event_based_actor* parent, size_t index,
                              expander_options options) {
  return parent->spawn<caf::detached>(expander_behavior, index,
                                      std::move(options));
}

} // namespace herald::actors
