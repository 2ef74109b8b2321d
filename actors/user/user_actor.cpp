#include "actors/user/user_actor.hpp"

#include "actors/errc.hpp"
#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/session_window.hpp"
#include "core/iso_time.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/protocol.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>

namespace herald::actors {

namespace {

using time_point = caf::actor_clock::time_point;

struct session_entry {
  weak_session_ptr sink;
  bool poll = false;
  bool immediate = false;
  session_window window{0, 1};
  int64_t poll_after = 0;
  std::string transport;
  std::string remote;
  time_point since;
};

/// One push of a message to a session, kept for traces.
struct send_record {
  int64_t seq = 0;
  int64_t message_id = 0;
  uint64_t session = 0;
  std::string transport;
  double at = 0; ///< unix seconds
  bool resend = false;
};

struct user_state {
  user_key key;
  user_options opts;
  int64_t user_id = 0;
  int64_t last_seq = 0;
  bool loaded = false;
  bool loading = false;
  bool fetching = false;
  std::map<uint64_t, session_entry> sessions;
  std::map<int64_t, delivery> cache;
  // Progress to persist, and what has been.
  int64_t sent_high = 0;
  int64_t acked_high = 0;
  int64_t persisted_sent = 0;
  int64_t persisted_acked = 0;
  bool flush_scheduled = false;
  bool tick_scheduled = false;
  bool idle_scheduled = false;
  time_point idle_since;
  // What a long-poll took in the current pump pass, so that another poll
  // waiting at the same position does not take the same batch.
  int64_t handout_from = 0;
  int64_t handout_to = 0;
  uint64_t handout_pass = 0;
  uint64_t pass = 0;
  size_t pushed = 0;
  size_t resent = 0;
  // The newest seq pushed anywhere: what is above it is a first push, the
  // one the commit-to-send latency measures.
  int64_t first_push_high = 0;
  std::deque<send_record> sends; ///< the last `send_log` pushes
  static inline const char* name = "user";
};

using user_actor = caf::stateful_actor<user_state>;

caf::actor inbox(user_actor* self) {
  return self->system().registry().get<caf::actor>(names::inbox);
}

void pump_one(user_actor* self, uint64_t session_id);

constexpr size_t send_log = 1024;

// Remembers pushes for traces and counts first pushes in the metrics.
void note_pushes(user_actor* self, const std::vector<delivery>& batch,
                 const session_ptr& sink, bool resend) {
  auto& st = self->state;
  auto now = unix_seconds_now();
  auto logger = log::get("actors");
  auto debug = logger->should_log(spdlog::level::debug);
  for (const auto& d : batch) {
    if (!resend && d.seq > st.first_push_high) {
      st.first_push_high = d.seq;
      auto committed = parse_iso_utc(d.created_at);
      metrics::delivery_sent(committed ? now - *committed : -1.0);
    }
    st.sends.push_back(
      {d.seq, d.message_id, sink->id(), sink->transport(), now, resend});
    if (st.sends.size() > send_log)
      st.sends.pop_front();
    if (debug)
      logger->debug("{} message={} user={}/{} seq={} session={} ({})",
                    resend ? "resend" : "push", d.message_id, st.key.app_id,
                    st.key.external_id, d.seq, sink->id(), sink->transport());
  }
}

std::string trace_of(user_actor* self, int64_t message_id) {
  auto& st = self->state;
  auto sends = nlohmann::json::array();
  for (const auto& r : st.sends)
    if (r.message_id == message_id) {
      auto it = st.sessions.find(r.session);
      int64_t acked = 0;
      if (it != st.sessions.end() && !it->second.poll)
        acked = it->second.window.acked();
      sends.push_back({{"seq", r.seq},
                       {"session", r.session},
                       {"transport", r.transport},
                       {"at", r.at},
                       {"resend", r.resend},
                       {"session_open", it != st.sessions.end()},
                       {"acked_by_session", acked >= r.seq}});
    }
  return sends.dump();
}

// One pass over every session. Polls waiting side by side share a pass,
// so a batch goes to only one of them.
void pump_all(user_actor* self) {
  ++self->state.pass;
  std::vector<uint64_t> ids;
  for (const auto& [id, entry] : self->state.sessions)
    ids.push_back(id);
  for (auto id : ids)
    pump_one(self, id);
}

void pump(user_actor* self, uint64_t session_id) {
  ++self->state.pass;
  pump_one(self, session_id);
}

void schedule_flush(user_actor* self) {
  auto& st = self->state;
  if (st.flush_scheduled)
    return;
  st.flush_scheduled = true;
  self->delayed_send(self, st.opts.flush_interval, flush_atom_v);
}

void schedule_tick(user_actor* self) {
  auto& st = self->state;
  if (st.tick_scheduled)
    return;
  st.tick_scheduled = true;
  // Resend deadlines are checked at a quarter of the ack timeout: a resend
  // is at most that late.
  self->delayed_send(self, st.opts.ack_timeout / 4, tick_atom_v);
}

void schedule_idle_check(user_actor* self) {
  auto& st = self->state;
  st.idle_since = self->clock().now();
  if (st.idle_scheduled)
    return;
  st.idle_scheduled = true;
  self->delayed_send(self, st.opts.idle_timeout, idle_atom_v);
}

void ensure_loaded(user_actor* self) {
  auto& st = self->state;
  if (st.loaded || st.loading)
    return;
  auto workers = inbox(self);
  if (!workers) {
    schedule_tick(self); // retried on the next tick
    return;
  }
  st.loading = true;
  self->request(workers, std::chrono::seconds{10}, load_user{st.key})
    .then(
      [self](int64_t user_id, int64_t last_seq) {
        auto& st = self->state;
        st.loading = false;
        st.loaded = true;
        if (user_id != 0)
          st.user_id = user_id;
        st.last_seq = std::max(st.last_seq, last_seq);
        // What was there before this actor started is backlog: pushing it
        // is a (re)delivery, not a fresh send with a commit-to-send time.
        st.first_push_high = std::max(st.first_push_high, last_seq);
        pump_all(self);
      },
      [self](caf::error& err) {
        self->state.loading = false;
        log::get("actors")->warn(
          "user {}/{}: cannot load: {}", self->state.key.app_id,
          self->state.key.external_id, self->system().render(err));
        schedule_tick(self);
      });
}

// Reads deliveries after `after` from the database into the cache.
void fetch(user_actor* self, int64_t after) {
  auto& st = self->state;
  if (st.fetching || st.user_id == 0)
    return;
  auto workers = inbox(self);
  if (!workers)
    return;
  st.fetching = true;
  self
    ->request(workers, std::chrono::seconds{10},
              load_after{st.user_id, after, st.opts.load_batch})
    .then(
      [self](std::vector<delivery>& batch) {
        auto& st = self->state;
        st.fetching = false;
        for (auto& d : batch) {
          st.last_seq = std::max(st.last_seq, d.seq);
          st.cache.emplace(d.seq, std::move(d));
        }
        while (st.cache.size() > st.opts.cache_limit + st.opts.load_batch)
          st.cache.erase(st.cache.begin());
        if (!batch.empty())
          pump_all(self);
      },
      [self](caf::error& err) {
        self->state.fetching = false;
        log::get("actors")->warn(
          "user {}/{}: cannot load deliveries: {}", self->state.key.app_id,
          self->state.key.external_id, self->system().render(err));
      });
}

// Up to `max` cached deliveries from `first` on, stopping at a gap; a gap
// starts a fetch.
std::vector<delivery> collect(user_actor* self, int64_t first, size_t max) {
  auto& st = self->state;
  std::vector<delivery> batch;
  for (auto seq = first; seq <= st.last_seq && batch.size() < max; ++seq) {
    auto it = st.cache.find(seq);
    if (it == st.cache.end()) {
      fetch(self, seq - 1);
      break;
    }
    batch.push_back(it->second);
  }
  return batch;
}

void pump_stream(user_actor* self, session_entry& entry,
                 const session_ptr& sink) {
  auto& st = self->state;
  auto& window = entry.window;
  if (window.sent() >= st.last_seq || window.room() == 0)
    return;
  auto batch = collect(self, window.sent() + 1, window.room());
  if (batch.empty())
    return;
  auto now = self->clock().now();
  for (const auto& d : batch)
    window.on_sent(d.seq, now, st.opts.ack_timeout);
  st.sent_high = std::max(st.sent_high, window.sent());
  st.pushed += batch.size();
  note_pushes(self, batch, sink, false);
  sink->deliver(std::move(batch));
  schedule_tick(self);
  schedule_flush(self);
}

// A poll answers once: with what is after its position (skipping what a
// concurrent poll has just taken), or later, when something arrives.
bool pump_poll(user_actor* self, session_entry& entry,
               const session_ptr& sink) {
  auto& st = self->state;
  auto start = entry.poll_after;
  if (st.handout_pass == st.pass && start >= st.handout_from &&
      start < st.handout_to)
    return false; // a poll waiting alongside took it: this one waits on
  auto batch = st.last_seq > start
                 ? collect(self, start + 1, st.opts.poll_batch)
                 : std::vector<delivery>{};
  if (batch.empty()) {
    // Nothing after its position: an immediate poll hears so now, unless
    // a database read may still bring something.
    if (!entry.immediate || st.fetching || st.last_seq > start)
      return false;
    sink->deliver({});
    return true;
  }
  st.handout_from = start;
  st.handout_to = batch.back().seq;
  st.handout_pass = st.pass;
  st.sent_high = std::max(st.sent_high, st.handout_to);
  st.pushed += batch.size();
  note_pushes(self, batch, sink, false);
  sink->deliver(std::move(batch));
  schedule_flush(self);
  return true;
}

void pump_one(user_actor* self, uint64_t session_id) {
  auto& st = self->state;
  auto it = st.sessions.find(session_id);
  if (it == st.sessions.end() || !st.loaded)
    return;
  auto sink = it->second.sink.lock();
  if (!sink) {
    st.sessions.erase(it);
    if (st.sessions.empty())
      schedule_idle_check(self);
    return;
  }
  if (!it->second.poll) {
    pump_stream(self, it->second, sink);
  } else if (pump_poll(self, it->second, sink)) {
    st.sessions.erase(it); // answered: the poll request is over
    if (st.sessions.empty())
      schedule_idle_check(self);
  }
}

// `from_client`: an ack frame (counted in the metrics), not a position a
// reconnecting client states.
void record_ack(user_actor* self, int64_t seq, bool from_client) {
  auto& st = self->state;
  auto bounded = std::min(seq, st.last_seq);
  if (bounded > st.acked_high) {
    if (from_client)
      metrics::deliveries_acked(static_cast<size_t>(bounded - st.acked_high));
    st.acked_high = bounded;
    schedule_flush(self);
  }
}

void on_attach(user_actor* self, attach_session& msg) {
  auto& st = self->state;
  auto& sink = msg.session;
  if (!sink)
    return;
  if (st.sessions.size() >= st.opts.max_sessions) {
    sink->close(protocol::too_many_sessions,
                protocol::describe(protocol::too_many_sessions));
    return;
  }
  session_entry entry;
  entry.sink = sink;
  entry.poll = msg.poll;
  entry.immediate = msg.immediate;
  entry.window = session_window{msg.last_seq, st.opts.max_unacked};
  entry.poll_after = msg.last_seq;
  entry.transport = sink->transport();
  entry.remote = sink->remote_address();
  entry.since = self->clock().now();
  auto id = sink->id();
  st.sessions[id] = std::move(entry);
  // The client's position acknowledges everything up to it.
  if (st.loaded)
    record_ack(self, msg.last_seq, msg.poll);
  ensure_loaded(self);
  pump(self, id);
}

void on_detach(user_actor* self, uint64_t session_id) {
  auto& st = self->state;
  if (st.sessions.erase(session_id) > 0 && st.sessions.empty())
    schedule_idle_check(self);
}

void on_ack(user_actor* self, const client_ack& msg) {
  auto& st = self->state;
  auto it = st.sessions.find(msg.session_id);
  if (it == st.sessions.end())
    return;
  auto& entry = it->second;
  if (entry.poll)
    return;
  switch (entry.window.on_ack(msg.seq)) {
    case session_window::ack_result::advanced:
      record_ack(self, msg.seq, true);
      pump(self, msg.session_id);
      break;
    case session_window::ack_result::duplicate:
      break;
    case session_window::ack_result::unknown:
      if (auto sink = entry.sink.lock())
        sink->report("unknown_seq", "ack for seq " + std::to_string(msg.seq) +
                                      ", which this session was not sent");
      break;
  }
}

void on_new_deliveries(user_actor* self, user_deliveries& msg) {
  auto& st = self->state;
  for (auto& d : msg.deliveries) {
    if (d.channel != "web" || !d.seq || !d.message)
      continue;
    if (st.user_id == 0)
      st.user_id = d.user_id;
    delivery out;
    out.seq = *d.seq;
    out.message_id = d.message_id;
    out.template_code = d.message->template_code;
    out.title = d.message->web_title;
    out.body = d.message->web_body;
    out.data_json = d.message->vars_json;
    out.created_at = d.message->created_at;
    st.last_seq = std::max(st.last_seq, out.seq);
    st.cache.emplace(out.seq, std::move(out));
  }
  // An announcement tells us who the user is; earlier deliveries are read
  // from the database when a session needs them.
  if (st.user_id != 0)
    st.loaded = true;
  while (st.cache.size() > st.opts.cache_limit)
    st.cache.erase(st.cache.begin());
  pump_all(self);
}

void on_tick(user_actor* self) {
  auto& st = self->state;
  st.tick_scheduled = false;
  if (!st.loaded)
    ensure_loaded(self);
  auto now = self->clock().now();
  bool inflight = false;
  for (auto& [id, entry] : st.sessions) {
    if (entry.poll)
      continue;
    auto sink = entry.sink.lock();
    if (!sink)
      continue;
    auto due = entry.window.due_for_resend(now, st.opts.ack_timeout,
                                           st.opts.max_resend_backoff);
    std::vector<delivery> batch;
    for (auto seq : due) {
      auto it = st.cache.find(seq);
      if (it == st.cache.end()) {
        fetch(self, seq - 1);
        break;
      }
      batch.push_back(it->second);
    }
    st.resent += batch.size();
    if (!batch.empty()) {
      metrics::deliveries_redelivered(batch.size());
      note_pushes(self, batch, sink, true);
      sink->deliver(std::move(batch));
    }
    inflight = inflight || entry.window.unacked() > 0;
  }
  pump_all(self);
  if (inflight || !st.loaded)
    schedule_tick(self);
}

void flush(user_actor* self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.user_id == 0)
    return;
  persist_progress msg{st.user_id, 0, 0};
  if (st.sent_high > st.persisted_sent)
    msg.sent_seq = st.sent_high;
  if (st.acked_high > st.persisted_acked)
    msg.acked_seq = st.acked_high;
  if (msg.sent_seq == 0 && msg.acked_seq == 0)
    return;
  if (auto workers = inbox(self)) {
    self->send(workers, msg);
    st.persisted_sent = std::max(st.persisted_sent, msg.sent_seq);
    st.persisted_acked = std::max(st.persisted_acked, msg.acked_seq);
  } else {
    schedule_flush(self);
  }
}

std::string describe(user_actor* self) {
  auto& st = self->state;
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& [id, entry] : st.sessions) {
    auto sink = entry.sink.lock();
    sessions.push_back(
      {{"id", id},
       {"transport", entry.transport},
       {"remote", entry.remote},
       {"queued_bytes", sink ? sink->queued_bytes() : 0},
       {"last_sent_seq", entry.poll ? st.handout_to : entry.window.sent()},
       {"last_acked_seq", entry.poll ? entry.poll_after : entry.window.acked()},
       {"unacked", entry.poll ? 0 : entry.window.unacked()}});
  }
  return nlohmann::json{{"kind", "user"},
                        {"id", self->id()},
                        {"app_id", st.key.app_id},
                        {"user", st.key.external_id},
                        {"user_id", st.user_id},
                        {"loaded", st.loaded},
                        {"last_seq", st.last_seq},
                        {"acked_seq", st.acked_high},
                        {"cached", st.cache.size()},
                        {"pushed", st.pushed},
                        {"resent", st.resent},
                        {"mailbox", self->mailbox().size()},
                        {"sessions", std::move(sessions)}}
    .dump();
}

caf::behavior user_behavior(user_actor* self, user_key key,
                            user_options options) {
  self->state.key = std::move(key);
  self->state.opts = options;
  ensure_loaded(self);
  schedule_idle_check(self);
  return {
    [self](attach_session& msg) { on_attach(self, msg); },
    [self](const detach_session& msg) { on_detach(self, msg.session_id); },
    [self](const client_ack& msg) { on_ack(self, msg); },
    [self](const client_read& msg) {
      auto& st = self->state;
      auto workers = inbox(self);
      if (!workers || st.user_id == 0)
        return;
      auto session_id = msg.session_id;
      auto message_id = msg.message_id;
      self
        ->request(workers, std::chrono::seconds{10},
                  persist_read{st.user_id, message_id})
        .then([self, session_id, message_id](bool found) {
          auto it = self->state.sessions.find(session_id);
          if (found || it == self->state.sessions.end())
            return;
          if (auto sink = it->second.sink.lock())
            sink->report("unknown_message", "no message " +
                                              std::to_string(message_id) +
                                              " for this user");
        });
    },
    [self](user_deliveries& msg) { on_new_deliveries(self, msg); },
    [self](tick_atom) { on_tick(self); },
    [self](flush_atom) { flush(self); },
    [self](idle_atom) {
      auto& st = self->state;
      st.idle_scheduled = false;
      if (!st.sessions.empty())
        return;
      auto idle_for = self->clock().now() - st.idle_since;
      if (idle_for < st.opts.idle_timeout) {
        st.idle_scheduled = true;
        self->delayed_send(self, st.opts.idle_timeout - idle_for, idle_atom_v);
        return;
      }
      flush(self);
      self->quit();
    },
    [self](inspect_atom) { return describe(self); },
    [self](trace_atom, int64_t message_id) {
      return trace_of(self, message_id);
    },
    [self](crash_atom) { self->quit(caf::make_error(errc::injected_crash)); },
  };
}

} // namespace

caf::actor spawn_user_actor(caf::event_based_actor* parent, user_key key,
                            user_options options) {
  return parent->spawn(user_behavior, std::move(key), options);
}

} // namespace herald::actors
