#include "actors/ingest/expander.hpp"

#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "storage/error.hpp"
#include "storage/expansion.hpp"

#include <caf/actor_system.hpp>
#include <caf/group.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace herald::actors {

namespace {

/// Rendering is not possible right now (the renderer is restarting or too
/// slow): the batch is rolled back and retried, nothing is rejected.
struct renderer_unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct expander_state {
  expander_options options;
  std::unique_ptr<storage::outbox_expander> db;
  size_t batches = 0;
  size_t messages = 0;
  size_t rejected = 0;
  size_t deliveries = 0;
  size_t failures = 0;
  std::string last_error;
  bool retry_scheduled = false;
  static inline const char* name = "expander";
};

using expander_actor = caf::stateful_actor<expander_state>;

// `blocking` is this thread's handle for blocking requests, one per batch
// (making one is not free).
storage::render_outcome render(expander_actor* self,
                               caf::scoped_actor& blocking,
                               const storage::claimed_message& msg) {
  if (!msg.approved)
    return storage::render_outcome::rejected("template_not_approved",
                                             "template " + msg.template_code +
                                               " has no approved version");
  auto registry = self->system().registry().get<caf::actor>(names::templates);
  if (!registry)
    throw renderer_unavailable("the template registry is not running");
  render_request req;
  req.app_id = msg.app_id;
  req.code = msg.template_code;
  req.template_id = msg.approved->id;
  req.source = std::make_shared<const template_source>(msg.approved->source);
  req.vars_json = msg.vars_json;
  req.channels = msg.channels;
  // Detached actor: a blocking request on its own thread starves no one.
  std::optional<render_result> result;
  std::string failure;
  blocking->request(registry, self->state.options.render_timeout, req)
    .receive([&](render_result& r) { result = std::move(r); },
             [&](caf::error& err) { failure = self->system().render(err); });
  if (!result)
    throw renderer_unavailable("render failed: " + failure);
  if (!result->error_code.empty())
    return storage::render_outcome::rejected(result->error_code,
                                             result->error_message);
  return storage::render_outcome::rendered(std::move(result->rendered_json));
}

void announce(expander_actor* self, std::vector<storage::new_delivery> all) {
  if (all.empty())
    return;
  auto& reg = self->system().registry();
  deliveries_committed msg{std::move(all)};
  for (auto name : {names::users, names::channels})
    if (auto target = reg.get<caf::actor>(name))
      self->send(target, msg);
}

// Up to batches_per_turn batches; true when more may be pending.
bool expand_some(expander_actor* self) {
  auto& st = self->state;
  auto logger = log::get("ingest");
  caf::scoped_actor blocking{self->system()};
  auto render_fn = [self, &blocking](const storage::claimed_message& m) {
    return render(self, blocking, m);
  };
  for (size_t i = 0; i < st.options.batches_per_turn; ++i) {
    auto result = st.db->expand_batch(st.options.batch_size, render_fn);
    if (result.claimed == 0)
      return false;
    ++st.batches;
    st.messages += result.claimed;
    st.rejected += result.rejected;
    st.deliveries += result.deliveries.size();
    size_t suppressed = 0;
    for (const auto& d : result.deliveries)
      suppressed += d.state == "suppressed" ? 1 : 0;
    metrics::messages_expanded(result.claimed - result.rejected,
                               result.rejected, result.deliveries.size(),
                               suppressed);
    logger->debug("expanded {} message(s) ({} rejected) into {} deliveries",
                  result.claimed, result.rejected, result.deliveries.size());
    for (const auto& d : result.deliveries)
      logger->debug("recorded message={} user={}/{} channel={} seq={} "
                    "state={}",
                    d.message_id, d.app_id, d.external_id, d.channel,
                    d.seq ? std::to_string(*d.seq) : "-", d.state);
    announce(self, std::move(result.deliveries));
    if (result.claimed < st.options.batch_size)
      return false;
  }
  return true;
}

void on_wake(expander_actor* self) {
  auto& st = self->state;
  try {
    if (expand_some(self))
      self->send(self, wake_atom_v); // more pending: continue after mailbox
  } catch (const std::exception& e) {
    ++st.failures;
    st.last_error = e.what();
    log::get("ingest")->warn("expansion failed, retrying: {}", e.what());
    if (!st.retry_scheduled) {
      st.retry_scheduled = true;
      self->delayed_send(self, st.options.retry_delay, tick_atom_v);
    }
  }
}

caf::behavior expander_behavior(expander_actor* self,
                                expander_options options) {
  auto& st = self->state;
  st.db = std::make_unique<storage::outbox_expander>(options.database_url);
  st.options = std::move(options);
  self->join(self->system().groups().get_local(outbox_group));
  self->send(self, wake_atom_v);
  return {
    [self](wake_atom) { on_wake(self); },
    [self](tick_atom) {
      self->state.retry_scheduled = false;
      on_wake(self);
    },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{{"kind", "expander"},
                            {"id", self->id()},
                            {"batches", st.batches},
                            {"messages", st.messages},
                            {"rejected", st.rejected},
                            {"deliveries", st.deliveries},
                            {"failures", st.failures},
                            {"last_error", st.last_error},
                            {"mailbox", self->mailbox().size()}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_expander(caf::event_based_actor* parent,
                          expander_options options) {
  return parent->spawn<caf::detached>(expander_behavior, std::move(options));
}

} // namespace herald::actors
