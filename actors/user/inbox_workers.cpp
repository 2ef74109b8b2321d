#include "actors/user/inbox_workers.hpp"

#include "actors/errc.hpp"
#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/messages.hpp"
#include "core/log.hpp"
#include "storage/error.hpp"
#include "storage/inbox_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include <deque>

namespace herald::actors {

namespace {

/// From the front to a worker: load these users in one statement.
struct load_user_batch {
  std::vector<storage::user_ref> users;
};

/// From the front to a worker: read these feed ranges in one statement.
struct load_feed_batch {
  std::vector<storage::feed_range> ranges;
};

} // namespace
} // namespace herald::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::load_user_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::load_feed_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<herald::storage::inbox_user>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<herald::storage::feed_read>)

namespace herald::actors {

namespace {

// The most users, and feed ranges, one statement carries. A batch of
// feed ranges can bring load_batch rows, and load_bytes of text, per range.
constexpr size_t max_users_per_batch = 500;
constexpr size_t max_feeds_per_batch = 64;

// ---- workers: one connection each, blocking, detached ---------------------

/// What the front hands a worker: the batched loads, and the rest as it
/// came.
using worker_actor = caf::typed_actor<
  caf::replies_to<load_user_batch>::with<std::vector<storage::inbox_user>>,
  caf::replies_to<load_feed_batch>::with<std::vector<storage::feed_read>>,
  caf::replies_to<load_cap_counts>::with<std::vector<cap_count>>,
  caf::replies_to<persist_read>::with<bool>, caf::reacts_to<persist_cursors>>;

struct worker_state {
  std::unique_ptr<storage::inbox_store> store;
  static inline const char* name = "inbox_worker";
};

caf::error failed(const storage::error& e) {
  log::get("storage")->warn("inbox: {}", e.what());
  return caf::make_error(errc::database_unreachable, std::string{e.what()});
}

// Runs one blocking store call, turning a storage error into the answer.
template <class T, class F>
caf::result<T> guarded(F&& call) {
  try {
    return call();
  } catch (const storage::error& e) {
    return failed(e);
  }
}

worker_actor::behavior_type
worker(worker_actor::stateful_pointer<worker_state> self, std::string url) {
  self->state.store = std::make_unique<storage::inbox_store>(std::move(url));
  auto& store = *self->state.store;
  return {
    [&store](const load_user_batch& req) {
      return guarded<std::vector<storage::inbox_user>>(
        [&] { return store.load_users(req.users); });
    },
    [&store](const load_feed_batch& req) {
      return guarded<std::vector<storage::feed_read>>(
        [&] { return store.load_feeds(req.ranges); });
    },
    [&store](const load_cap_counts& req) {
      return guarded<std::vector<cap_count>>(
        [&] { return store.load_cap_counts(req.user_id, req.through); });
    },
    [&store](const persist_read& req) {
      return guarded<bool>(
        [&] { return store.mark_read(req.user_id, req.message_id); });
    },
    [&store](const persist_cursors& req) {
      try {
        store.record_cursors(req.updates);
      } catch (const storage::error& e) {
        // Lost progress only means a resend later; the client dedups.
        failed(e);
      }
    },
  };
}

// ---- the front: batches what many user actors ask -------------------------

struct waiting_user {
  storage::user_ref user;
  caf::typed_response_promise<storage::inbox_user> promise;
};

struct waiting_feed {
  storage::feed_range range;
  caf::typed_response_promise<storage::feed_read> promise;
};

struct front_state {
  std::vector<worker_actor> workers;
  size_t next_worker = 0;
  /// Batches sent and not answered: at most one per worker, so that what
  /// arrives meanwhile waits and goes out as the next, bigger batch.
  size_t in_flight = 0;
  std::deque<waiting_user> users;
  std::deque<waiting_feed> feeds;
  size_t batches = 0;
  size_t users_loaded = 0;
  size_t feeds_read = 0;
  size_t largest_batch = 0;
  static inline const char* name = "inbox";
};

using front_actor = inbox_actor::stateful_base<front_state>;

worker_actor& next_worker(front_actor* self) {
  auto& st = self->state;
  return st.workers[st.next_worker++ % st.workers.size()];
}

// Takes up to `max` waiting requests off the front of `queue`.
template <class Waiting>
std::vector<Waiting> take(std::deque<Waiting>& queue, size_t max) {
  auto n = std::min(max, queue.size());
  std::vector<Waiting> out{std::make_move_iterator(queue.begin()),
                           std::make_move_iterator(queue.begin() + n)};
  queue.erase(queue.begin(), queue.begin() + n);
  return out;
}

void dispatch(front_actor* self);

void answer_all(std::vector<waiting_user>& waiting,
                std::vector<storage::inbox_user>& users) {
  for (size_t i = 0; i < waiting.size(); ++i)
    waiting[i].promise.deliver(i < users.size() ? std::move(users[i])
                                                : storage::inbox_user{});
}

void answer_all(std::vector<waiting_feed>& waiting,
                std::vector<storage::feed_read>& feeds) {
  for (size_t i = 0; i < waiting.size(); ++i)
    waiting[i].promise.deliver(
      i < feeds.size() ? std::move(feeds[i])
                       : storage::feed_read{{}, waiting[i].range.after});
}

template <class Waiting>
void fail_all(std::vector<Waiting>& waiting, const caf::error& err) {
  for (auto& w : waiting)
    w.promise.deliver(err);
}

// Sends `batch` for `waiting` to the next worker; its answer (a vector
// aligned with the batch) goes to each waiting promise.
template <class Answer, class Batch, class Waiting>
void request_batch(front_actor* self, Batch batch,
                   std::vector<Waiting> waiting) {
  auto& st = self->state;
  ++st.in_flight;
  ++st.batches;
  st.largest_batch = std::max(st.largest_batch, waiting.size());
  auto shared = std::make_shared<std::vector<Waiting>>(std::move(waiting));
  self->request(next_worker(self), std::chrono::seconds{30}, std::move(batch))
    .then(
      [self, shared](Answer& answer) {
        --self->state.in_flight;
        answer_all(*shared, answer);
        dispatch(self);
      },
      [self, shared](caf::error& err) {
        --self->state.in_flight;
        fail_all(*shared, err);
        dispatch(self);
      });
}

void dispatch(front_actor* self) {
  auto& st = self->state;
  while (st.in_flight < st.workers.size() &&
         (!st.users.empty() || !st.feeds.empty())) {
    if (!st.users.empty()) {
      auto waiting = take(st.users, max_users_per_batch);
      load_user_batch batch;
      for (const auto& w : waiting)
        batch.users.push_back(w.user);
      st.users_loaded += waiting.size();
      request_batch<std::vector<storage::inbox_user>>(self, std::move(batch),
                                                      std::move(waiting));
    }
    if (!st.feeds.empty() && st.in_flight < st.workers.size()) {
      auto waiting = take(st.feeds, max_feeds_per_batch);
      load_feed_batch batch;
      for (const auto& w : waiting)
        batch.ranges.push_back(w.range);
      st.feeds_read += waiting.size();
      request_batch<std::vector<storage::feed_read>>(self, std::move(batch),
                                                     std::move(waiting));
    }
  }
}

inbox_actor::behavior_type front(front_actor* self, std::string url,
                                 size_t workers) {
  auto& st = self->state;
  for (size_t i = 0; i < std::max<size_t>(1, workers); ++i)
    st.workers.push_back(self->spawn<caf::detached + caf::linked>(worker, url));
  return {
    [self](const load_user& req) {
      auto rp = self->make_response_promise<storage::inbox_user>();
      self->state.users.push_back(
        {{req.user.app_id, req.user.external_id}, rp});
      dispatch(self);
      return rp;
    },
    [self](const load_feed& req) {
      auto rp = self->make_response_promise<storage::feed_read>();
      self->state.feeds.push_back({req.range, rp});
      dispatch(self);
      return rp;
    },
    // Rare or fire-and-forget: straight to a worker, unbatched.
    [self](const load_cap_counts& req) {
      return self->delegate(next_worker(self), req);
    },
    [self](const persist_read& req) {
      return self->delegate(next_worker(self), req);
    },
    [self](persist_cursors& req) {
      self->send(next_worker(self), std::move(req));
    },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{{"kind", "inbox_pool"},
                            {"id", self->id()},
                            {"workers", st.workers.size()},
                            {"batches_in_flight", st.in_flight},
                            {"waiting_users", st.users.size()},
                            {"waiting_feeds", st.feeds.size()},
                            {"batches", st.batches},
                            {"users_loaded", st.users_loaded},
                            {"feeds_read", st.feeds_read},
                            {"largest_batch", st.largest_batch},
                            {"mailbox", self->mailbox().size()}}
        .dump();
    },
  };
}

} // namespace

inbox_actor spawn_inbox_workers(caf::event_based_actor* parent,
                                std::string database_url, size_t workers) {
  auto inbox = parent->spawn(front, std::move(database_url), workers);
  parent->system().registry().put(names::inbox, inbox);
  return inbox;
}

} // namespace herald::actors
