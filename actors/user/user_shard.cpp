#include "actors/user/user_shard.hpp"

#include "actors/messages.hpp"
#include "actors/registered_name.hpp"
#include "actors/stream/stream_index.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/inbox_actor.hpp"
#include "actors/user/passive_user.hpp"
#include "actors/user/routing.hpp"
#include "actors/user/user_snapshot.hpp"
#include "core/handoff_scope.hpp"
#include "core/iso_time.hpp"
#include "core/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace herald::actors {

namespace {

void forget(attached_sessions& sessions, uint64_t id) {
  sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                [id](const attached& a) { return a.id == id; }),
                 sessions.end());
}

void forget_closed(attached_sessions& sessions) {
  sessions.erase(
    std::remove_if(sessions.begin(), sessions.end(),
                   [](const attached& a) { return a.session.expired(); }),
    sessions.end());
}

/// A local user: its actor (or what it left when it passivated), its
/// sessions, and its streams (as the stream index's reader).
struct user_entry : stream_reader {
  /// First, and in 32 bits: it fills the stream_reader's last 8 bytes,
  /// which keeps the map's node for an idle user in the 192-byte class.
  uint32_t restarts = 0;
  /// The key it is kept under in shard_state::users.
  const user_key* key = nullptr;
  user_actor actor;
  attached_sessions sessions;
  /// Set while the user is passivated (no actor): what it starts from.
  std::shared_ptr<user_snapshot> passive;
  /// While passivated: what the shard pushed to the sessions itself and
  /// not every one has acknowledged, or holds for the next session
  /// (passive_user.hpp).
  std::unique_ptr<pushed_deliveries> pushed;
  /// Messages sent to the current actor: it may passivate only when it
  /// has taken all of them.
  uint64_t forwarded = 0;
  /// When a passivated user's last session left: it goes an idle timeout
  /// later (sweep_idle), as a running user's actor would.
  caf::actor_clock::time_point emptied_at{};
};

// Every connected user has an entry, passive or not: with the tree node's
// header (four pointers in libstdc++), it fits jemalloc's 192-byte class.
// Grow it knowingly.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(std::pair<const user_key, user_entry>) +
                  4 * sizeof(void*) <=
                192,
              "a user shard's entry left its 192-byte allocation class");
#endif

/// A subscription waiting for the shard to learn where the log stands.
struct waiting_subscription {
  caf::typed_response_promise<int64_t> promise;
};

struct shard_state {
  size_t index = 0;
  user_options opts;
  std::shared_ptr<tail_cursor> tail;
  /// Everything after this position reaches the shard live; -1: not known
  /// yet (no batch and no cursor so far).
  int64_t live_after = -1;
  std::map<user_key, user_entry> users;
  stream_index streams;
  std::vector<waiting_subscription> waiting;
  /// Tailed batches for the next turn (on_tailed), in order.
  std::vector<std::shared_ptr<const storage::log_batch>> arrived;
  bool turn_scheduled = false;
  std::unordered_map<int64_t, storage::cursor_update> progress;
  bool flush_scheduled = false;
  bool sweep_scheduled = false;
  bool ack_check_scheduled = false;
  size_t started = 0;
  size_t restarts = 0;
  size_t passivated = 0;
  size_t woken = 0;
  size_t batches = 0;
  /// Fan-outs: fewer than batches when batches waited for a busy shard.
  size_t turns = 0;
  size_t fanned_out = 0;
  /// Deliveries the shard pushed to passive users' sessions itself.
  size_t pushed_passively = 0;
  /// Passive users woken because a push of the shard's went unacknowledged
  /// for the ack timeout.
  size_t woken_to_resend = 0;
  /// Sessions placed at a passive user without starting its actor.
  size_t attached_passively = 0;
  size_t cursor_writes = 0;
  /// Looked up once: the registry lookup takes a process-wide lock.
  std::shared_ptr<spdlog::logger> logger = log::get("actors");
  static inline const char* name = "user_shard";
};

using shard_actor = user_shard_actor::stateful_base<shard_state>;

void reattach(shard_actor* self, const user_key& key, user_entry& entry,
              const std::shared_ptr<const pushed_deliveries>& in_flight);

void schedule_ack_check(shard_actor* self);

passive_user passive_view(user_entry& entry) {
  return {*entry.key, *entry.passive, entry.sessions, entry.pushed};
}

// Everything the shard sends a user actor goes through here: the actor
// counts what it took, and may passivate only when that is all.
template <class Message>
void forward(shard_actor* self, user_entry& entry, Message&& msg) {
  ++entry.forwarded;
  self->send(entry.actor, std::forward<Message>(msg));
}

// The user's entry, made if there is none.
user_entry& entry_of(shard_actor* self, const user_key& key) {
  auto [it, made] = self->state.users.try_emplace(key);
  if (made)
    it->second.key = &it->first;
  return it->second;
}

// The user's actor, started if there is none; a passivated user's from its
// snapshot, with its sessions.
user_entry& ensure_actor(shard_actor* self, user_entry& entry) {
  if (!entry.actor) {
    const auto& key = *entry.key;
    auto snapshot = std::move(entry.passive);
    auto woken = snapshot != nullptr;
    std::shared_ptr<const pushed_deliveries> pushed{std::move(entry.pushed)};
    entry.actor = spawn_user_actor(self, key, self->state.opts,
                                   std::move(snapshot), pushed);
    entry.forwarded = 0;
    self->monitor(entry.actor);
    ++self->state.started;
    if (woken) {
      ++self->state.woken;
      reattach(self, key, entry, pushed);
    }
  }
  return entry;
}

user_entry& ensure_actor(shard_actor* self, const user_key& key) {
  return ensure_actor(self, entry_of(self, key));
}

// Sends every live session of `entry` to its (new) user actor at the
// position its client acknowledged, with what the shard pushed it while the
// user was passive and it has not acknowledged. Sessions count only acks of
// what they were sent (net/stream), so a client's bogus ack cannot skip
// anything.
void reattach(shard_actor* self, const user_key& key, user_entry& entry,
              const std::shared_ptr<const pushed_deliveries>& in_flight) {
  for (auto it = entry.sessions.begin(); it != entry.sessions.end();) {
    auto session = it->session.lock();
    if (!session) {
      it = entry.sessions.erase(it);
      continue;
    }
    auto position =
      it->poll ? it->last_seq : std::max(it->last_seq, session->acked_seq());
    forward(self, entry,
            attach_session{key, std::move(session), position, it->poll,
                           it->immediate, in_flight});
    ++it;
  }
}

void on_down(shard_actor* self, const caf::down_msg& msg) {
  auto& users = self->state.users;
  for (auto it = users.begin(); it != users.end(); ++it) {
    auto& entry = it->second;
    if (entry.actor.address() != msg.source)
      continue;
    entry.actor = nullptr;
    self->state.streams.unsubscribe(entry);
    forget_closed(entry.sessions);
    bool failed = msg.reason && msg.reason != caf::exit_reason::normal;
    if (!failed && entry.sessions.empty()) {
      users.erase(it); // passivated
      return;
    }
    if (failed) {
      ++entry.restarts;
      ++self->state.restarts;
      log::get("actors")->warn("user {}/{} failed ({}); restarting with {} "
                               "session(s)",
                               it->first.app_id, it->first.external_id,
                               self->system().render(msg.reason),
                               entry.sessions.size());
    }
    ensure_actor(self, entry);
    reattach(self, it->first, entry, nullptr);
    return;
  }
}

void learn_live_after(shard_actor* self, int64_t position) {
  auto& st = self->state;
  if (st.live_after >= 0 || position < 0)
    return;
  st.live_after = position;
  for (auto& w : st.waiting)
    w.promise.deliver(st.live_after);
  st.waiting.clear();
}

// A batch is fanned out on the shard's next turn, not as it arrives: the
// batches that wait in the mailbox behind a busy shard go out together,
// each user's share of them in one push and each session's in one write.
// An idle shard's turn is its very next message.
void on_tailed(shard_actor* self, const tailed& msg) {
  auto& st = self->state;
  st.arrived.push_back(msg.batch);
  if (!st.turn_scheduled) {
    st.turn_scheduled = true;
    self->send(self, turn_atom_v);
  }
}

void fan_out_arrived(shard_actor* self) {
  auto& st = self->state;
  st.turn_scheduled = false;
  auto batches = std::move(st.arrived);
  st.arrived.clear();
  if (batches.empty())
    return;
  // A shard that started after the tailer stored a batch's end but before
  // it looked the shards up gets the batch too: it skips what its live
  // range does not cover.
  learn_live_after(self, batches.front()->after);
  st.batches += batches.size();
  ++st.turns;
  push_time now{self->clock().now(), unix_seconds_now()};
  // What the batches give the sessions reaches each I/O thread in one task
  // when the fan-out is done, not in one per session.
  handoff_scope scope;
  for (auto& [reader, items] : st.streams.fan_out(batches, st.live_after)) {
    // Every reader is a user's entry (subscribe).
    auto& entry = static_cast<user_entry&>(*reader);
    if (!entry.actor && !entry.passive)
      continue;
    st.fanned_out += items.items.size();
    // A passive user's messages go to its sessions from here: no actor is
    // started, and no message is sent to one, per user and batch.
    if (!entry.actor && push_passively(passive_view(entry), items.items, now,
                                       st.opts.max_unacked, *st.logger)) {
      st.pushed_passively += items.items.size();
      if (entry.pushed)
        schedule_ack_check(self);
      continue;
    }
    forward(self, ensure_actor(self, entry), std::move(items));
  }
  for (const auto& batch : batches)
    st.live_after = std::max(st.live_after, batch->through);
}

// One timer per shard for the acks of what it pushed to passive users.
void schedule_ack_check(shard_actor* self) {
  auto& st = self->state;
  if (st.ack_check_scheduled)
    return;
  st.ack_check_scheduled = true;
  self->delayed_send(self, st.opts.ack_timeout / 4, tick_atom_v);
}

// A passive user whose client has not acknowledged a push of the shard's
// within the ack timeout wakes: its actor resends, with backoff, as it
// does for its own pushes.
void check_acks(shard_actor* self) {
  auto& st = self->state;
  st.ack_check_scheduled = false;
  auto now = self->clock().now();
  bool waiting = false;
  for (auto& [key, entry] : st.users) {
    if (entry.actor || !entry.pushed)
      continue;
    if (ack_overdue(passive_view(entry), now, st.opts.ack_timeout)) {
      ++st.woken_to_resend;
      ensure_actor(self, entry);
    } else if (!entry.sessions.empty()) {
      waiting = true;
    }
  }
  // What is held for a user without sessions waits for none: the next
  // session placed at it sets the check again.
  if (waiting)
    schedule_ack_check(self);
}

// One timer per shard for the passivated users whose last session left.
void schedule_sweep(shard_actor* self) {
  auto& st = self->state;
  if (st.sweep_scheduled)
    return;
  st.sweep_scheduled = true;
  self->delayed_send(self, st.opts.idle_timeout, idle_atom_v);
}

// Passivated users without sessions for the idle timeout go: their
// progress was reported before they passivated, and their streams are
// let go. The next session starts the user from the database.
void sweep_idle(shard_actor* self) {
  auto& st = self->state;
  st.sweep_scheduled = false;
  auto now = self->clock().now();
  bool waiting = false;
  for (auto it = st.users.begin(); it != st.users.end();) {
    auto& entry = it->second;
    if (entry.actor || !entry.passive || !entry.sessions.empty()) {
      ++it;
      continue;
    }
    if (now - entry.emptied_at < st.opts.idle_timeout) {
      waiting = true;
      ++it;
      continue;
    }
    st.streams.unsubscribe(entry);
    it = st.users.erase(it);
  }
  if (waiting)
    schedule_sweep(self);
}

void flush_progress(shard_actor* self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.progress.empty())
    return;
  // One lookup per flush (at most one per flush_interval), not per user.
  auto workers = self->system().registry().get<inbox_actor>(names::inbox);
  if (!workers) {
    st.flush_scheduled = true;
    self->delayed_send(self, st.opts.flush_interval, flush_atom_v);
    return;
  }
  persist_cursors msg;
  msg.updates.reserve(st.progress.size());
  for (auto& [id, update] : st.progress)
    msg.updates.push_back(update);
  st.progress.clear();
  ++st.cursor_writes;
  self->send(workers, std::move(msg));
}

void on_progress(shard_actor* self, const user_progress& msg) {
  auto& st = self->state;
  auto& update = st.progress[msg.user_id];
  update.user_id = msg.user_id;
  update.sent = std::max(update.sent, msg.sent);
  update.acked = std::max(update.acked, msg.acked);
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->delayed_send(self, st.opts.flush_interval, flush_atom_v);
  }
}

// A passive user's progress, kept in its snapshot, goes to the next cursor
// write as an actor's report would.
void report_passive_progress(shard_actor* self, const user_entry& entry) {
  const auto& snap = *entry.passive;
  on_progress(self, {snap.user_id, snap.sent_high, snap.acked_high});
}

// A stream session of a passive user that lacks only what the shard holds
// (a client back after a moment) is placed here, without the actor.
bool attach_to_passive(shard_actor* self, const attach_session& msg) {
  auto& st = self->state;
  if (msg.poll)
    return false;
  auto it = st.users.find(msg.user);
  if (it == st.users.end() || it->second.actor || !it->second.passive)
    return false;
  auto& entry = it->second;
  forget(entry.sessions, msg.session->id());
  auto outcome =
    attach_passively(passive_view(entry), msg.session, msg.last_seq,
                     {self->clock().now(), unix_seconds_now()},
                     st.opts.max_sessions, *st.logger);
  if (outcome == passive_attach::wake)
    return false;
  if (outcome == passive_attach::advanced)
    report_passive_progress(self, entry);
  if (entry.pushed)
    schedule_ack_check(self);
  ++st.attached_passively;
  return true;
}

// A shard can hold many thousands of users: the tree shows the first ones.
constexpr size_t described_users = 200;

// Forwards a question to the user's actor; `otherwise` when it has none
// (the user is not active on this node).
template <class... Ts>
caf::result<std::string> ask_user(shard_actor* self, const user_key& key,
                                  std::string otherwise, Ts... question) {
  auto it = self->state.users.find(key);
  if (it == self->state.users.end() ||
      (!it->second.actor && !it->second.passive))
    return otherwise;
  auto& entry = ensure_actor(self, it->second);
  ++entry.forwarded;
  auto rp = self->make_response_promise<std::string>();
  self->request(entry.actor, std::chrono::seconds{2}, question...)
    .then([rp](std::string& answer) mutable { rp.deliver(std::move(answer)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

std::string describe(shard_actor* self) {
  auto& st = self->state;
  nlohmann::json children = nlohmann::json::array();
  for (const auto& [key, entry] : st.users) {
    if (children.size() == described_users)
      break;
    children.push_back(
      {{"kind", "user"},
       {"name", std::to_string(key.app_id) + "/" + key.external_id},
       {"id", entry.actor ? entry.actor.id() : 0},
       {"state", entry.actor     ? "running"
                 : entry.passive ? "passive"
                                 : "restarting"},
       {"sessions", entry.sessions.size()},
       {"pushed_unacked", entry.pushed ? entry.pushed->size() : 0},
       {"streams", st.streams.streams_of(entry)},
       {"restarts", entry.restarts}});
  }
  return nlohmann::json{{"kind", "user_shard"},
                        {"id", self->id()},
                        {"index", st.index},
                        {"users", st.users.size()},
                        {"streams", st.streams.streams()},
                        {"live_after", st.live_after},
                        {"batches", st.batches},
                        {"fan_out_turns", st.turns},
                        {"fanned_out", st.fanned_out},
                        {"pushed_passively", st.pushed_passively},
                        {"woken_to_resend", st.woken_to_resend},
                        {"attached_passively", st.attached_passively},
                        {"cursor_writes", st.cursor_writes},
                        {"started", st.started},
                        {"passivated", st.passivated},
                        {"woken", st.woken},
                        {"user_restarts", st.restarts},
                        {"mailbox", self->mailbox().size()},
                        {"children", std::move(children)}}
    .dump();
}

user_shard_actor::behavior_type
shard_behavior(shard_actor* self, size_t index, user_options options,
               std::shared_ptr<tail_cursor> tail) {
  auto& st = self->state;
  st.index = index;
  st.opts = options;
  st.tail = std::move(tail);
  // Registered before the cursor is read: see tail_cursor.
  register_while_alive(self, shard_name(index));
  learn_live_after(self, st.tail ? st.tail->dispatched.load() : -1);
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [key, entry] : self->state.users)
      if (entry.actor)
        self->send_exit(entry.actor, msg.reason);
    flush_progress(self);
    self->quit(msg.reason);
  });
  return {
    [self](attach_session& msg) {
      if (!msg.session)
        return;
      if (attach_to_passive(self, msg))
        return;
      // Woken first: a passivated user's actor gets its earlier sessions
      // back, then this one.
      auto& entry = ensure_actor(self, msg.user);
      auto id = msg.session->id();
      forget(entry.sessions, id);
      entry.sessions.push_back(
        {id, msg.session, msg.last_seq, msg.poll, msg.immediate});
      forward(self, entry, std::move(msg));
    },
    [self](const detach_session& msg) {
      auto it = self->state.users.find(msg.user);
      if (it == self->state.users.end())
        return;
      if (!it->second.actor) {
        // A passivated user's session leaves without waking it: nothing
        // the user holds changes (an ack would have woken it). Without
        // sessions it stays passive for the idle timeout, then goes, as a
        // running user's actor would; a storm of disconnects starts no
        // actors.
        auto& entry = it->second;
        forget(entry.sessions, msg.session_id);
        if (entry.passive)
          settle_pushed(passive_view(entry));
        if (entry.passive && entry.sessions.empty()) {
          entry.emptied_at = self->clock().now();
          schedule_sweep(self);
        }
        return;
      }
      auto& entry = it->second;
      forget(entry.sessions, msg.session_id);
      forward(self, entry, msg);
    },
    [self](const client_ack& msg) {
      auto it = self->state.users.find(msg.user);
      if (it == self->state.users.end() ||
          (!it->second.actor && !it->second.passive))
        return;
      auto& entry = it->second;
      if (!entry.actor) {
        // A passive user takes acks here: they settle what the shard
        // pushed. Only one the actor must answer wakes it.
        auto outcome =
          ack_passively(passive_view(entry), msg.session_id, msg.seq);
        if (outcome == passive_ack::advanced)
          report_passive_progress(self, entry);
        if (outcome != passive_ack::wake)
          return;
      }
      forward(self, ensure_actor(self, entry), msg);
    },
    [self](const client_read& msg) {
      forward(self, ensure_actor(self, msg.user), msg);
    },
    [self](passivate_request& msg) {
      auto it = self->state.users.find(msg.user);
      if (it == self->state.users.end())
        return false;
      auto& entry = it->second;
      // Only the current actor, and only when nothing sent to it is
      // still on its way: otherwise it stays and takes that first.
      if (!entry.actor || self->current_sender() != entry.actor.address() ||
          msg.handled != entry.forwarded || !msg.snapshot)
        return false;
      self->demonitor(entry.actor.address());
      entry.actor = nullptr;
      entry.passive = std::move(msg.snapshot);
      // Where each session stands is what the shard counts acks from.
      for (const auto& [id, acked] : msg.acked)
        for (auto& a : entry.sessions)
          if (a.id == id)
            a.last_seq = std::max(a.last_seq, acked);
      if (msg.pushed && !msg.pushed->empty()) {
        entry.pushed = std::make_unique<pushed_deliveries>(*msg.pushed);
        schedule_ack_check(self);
      }
      ++self->state.passivated;
      return true;
    },
    [self](subscribe& msg) -> caf::result<int64_t> {
      auto& st = self->state;
      // Only a user's actor subscribes, and its entry stays while it runs.
      if (auto it = st.users.find(msg.user); it != st.users.end())
        st.streams.subscribe(it->second, std::move(msg.streams));
      if (st.live_after >= 0)
        return st.live_after;
      auto rp = self->make_response_promise<int64_t>();
      st.waiting.push_back({rp});
      return rp;
    },
    [self](const tailed& msg) { on_tailed(self, msg); },
    [self](turn_atom) { fan_out_arrived(self); },
    [self](const user_progress& msg) { on_progress(self, msg); },
    [self](flush_atom) { flush_progress(self); },
    [self](idle_atom) { sweep_idle(self); },
    [self](tick_atom) { check_acks(self); },
    [self](crash_atom) {
      self->quit(caf::make_error(caf::sec::runtime_error, "injected crash"));
    },
    [self](crash_atom, const user_key& key) {
      auto it = self->state.users.find(key);
      if (it != self->state.users.end() &&
          (it->second.actor || it->second.passive))
        forward(self, ensure_actor(self, it->second), crash_atom_v);
    },
    [self](inspect_atom) { return describe(self); },
    [self](inspect_atom, const user_key& key) -> caf::result<std::string> {
      return ask_user(self, key, R"({"kind":"user","active":false})",
                      inspect_atom_v);
    },
    [self](trace_atom, const user_key& key,
           int64_t message_id) -> caf::result<std::string> {
      return ask_user(self, key, "[]", trace_atom_v, message_id);
    },
  };
}

} // namespace

user_shard_actor spawn_user_shard(caf::event_based_actor* parent, size_t index,
                                  user_options options,
                                  std::shared_ptr<tail_cursor> tail) {
  return parent->spawn(shard_behavior, index, options, std::move(tail));
}

} // namespace herald::actors
