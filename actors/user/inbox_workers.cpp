#include "actors/user/inbox_workers.hpp"

#include "actors/errc.hpp"
#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/messages.hpp"
#include "core/log.hpp"
#include "storage/error.hpp"
#include "storage/inbox_store.hpp"

#include <caf/actor_pool.hpp>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

namespace herald::actors {

namespace {

struct worker_state {
  std::unique_ptr<storage::inbox_store> store;
  static inline const char* name = "inbox_worker";
};

using worker_actor = caf::stateful_actor<worker_state>;

caf::error failed(const storage::error& e) {
  log::get("storage")->warn("inbox: {}", e.what());
  return caf::make_error(errc::database_unreachable, std::string{e.what()});
}

caf::behavior worker(worker_actor* self, std::string url) {
  self->state.store = std::make_unique<storage::inbox_store>(std::move(url));
  return {
    [self](const load_user& req) -> caf::result<storage::inbox_user> {
      try {
        auto user =
          self->state.store->load_user(req.user.app_id, req.user.external_id);
        return user ? std::move(*user) : storage::inbox_user{};
      } catch (const storage::error& e) {
        return failed(e);
      }
    },
    [self](const load_feed& req) -> caf::result<std::vector<delivery>> {
      try {
        return self->state.store->load_feed(req.user_id, req.after, req.through,
                                            req.limit);
      } catch (const storage::error& e) {
        return failed(e);
      }
    },
    [self](const load_cap_counts& req) -> caf::result<std::vector<cap_count>> {
      try {
        return self->state.store->load_cap_counts(req.user_id, req.through);
      } catch (const storage::error& e) {
        return failed(e);
      }
    },
    [self](const persist_cursors& req) {
      try {
        self->state.store->record_cursors(req.updates);
      } catch (const storage::error& e) {
        // Lost progress only means a resend later; the client dedups.
        failed(e);
      }
    },
    [self](const persist_read& req) -> caf::result<bool> {
      try {
        return self->state.store->mark_read(req.user_id, req.message_id);
      } catch (const storage::error& e) {
        return failed(e);
      }
    },
    // The pool hands this to one worker: it speaks for the pool.
    [self](inspect_atom) {
      return nlohmann::json{{"kind", "inbox_pool"},
                            {"id", self->id()},
                            {"mailbox", self->mailbox().size()}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_inbox_workers(caf::event_based_actor* parent,
                               std::string database_url, size_t workers) {
  auto& sys = parent->system();
  auto pool = caf::actor_pool::make(
    parent->context(), std::max<size_t>(1, workers),
    [&sys, database_url] {
      return sys.spawn<caf::detached>(worker, database_url);
    },
    caf::actor_pool::round_robin());
  sys.registry().put(names::inbox, pool);
  return pool;
}

} // namespace herald::actors
