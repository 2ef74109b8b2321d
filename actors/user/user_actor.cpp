#include "actors/user/user_actor.hpp"

#include "actors/errc.hpp"
#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/feed_buffer.hpp"
#include "actors/user/feed_reads.hpp"
#include "actors/user/inbox_actor.hpp"
#include "actors/user/session_window.hpp"
#include "actors/user/user_pushes.hpp"
#include "actors/user/user_snapshot.hpp"
#include "core/iso_time.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/protocol.hpp"
#include "core/web_policy.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <limits>
#include <map>

namespace herald::actors {

namespace {

using time_point = caf::actor_clock::time_point;

struct session_entry {
  weak_session_ptr sink;
  /// The session's id and transport, kept here: reading them through the
  /// sink per push cost a cache miss on the session's object.
  uint64_t id = 0;
  const char* transport = ""; ///< session_sink::transport(): a literal
  bool poll = false;
  bool immediate = false;
  /// Told where it resumes (session_sink::welcome).
  bool welcomed = false;
  session_window window{0, 1};
  int64_t poll_after = 0;
  std::string remote;
  time_point since;
};

/// Where the actor is in getting to know its user: loading what the
/// database says, then subscribing to the user's streams at the shard.
enum class phase { loading, subscribing, ready, unknown_user };

struct user_state {
  user_key key;
  user_options opts;
  user_shard_actor shard; ///< the parent: routes the user's streams here
  /// Looked up once, and again only after a request to it failed (it may
  /// have been restarted): not once per request.
  inbox_actor inbox;
  phase stage = phase::loading;
  bool load_in_flight = false;
  /// A control entry arrived while loading: load again when done.
  bool reload_wanted = false;
  /// Feed items that came after the shard answered the subscription but
  /// before the actor was ready (it was counting for the hourly cap).
  std::vector<feed_item> early;
  int64_t user_id = 0;
  int64_t newest = 0; ///< the newest position of the user's feed known
  web_policy policy;
  feed_buffer feed;
  feed_reads reads;
  std::map<uint64_t, session_entry> sessions;
  // Progress to persist, and what has been reported to the shard.
  int64_t sent_high = 0;
  int64_t acked_high = 0;
  int64_t persisted_sent = 0;
  int64_t persisted_acked = 0;
  /// When the next tick comes (max: none is scheduled).
  time_point tick_at = time_point::max();
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
  size_t suppressed = 0;
  // The newest position pushed anywhere: what is above it is a first push,
  // the one the commit-to-send latency measures.
  int64_t first_push_high = 0;
  send_log sends;
  // Passivation: messages taken from the shard (it compares them with what
  // it sent), how many when the pending check was set, whether one is
  // pending, whether the shard is being asked, and how often this user was
  // passivated before.
  uint64_t handled = 0;
  /// Messages from the shard that only the actor could take (all but feed
  /// items, which the shard pushes itself to a passive user), and how many
  /// when the pending check was set.
  uint64_t busy = 0;
  uint64_t busy_at_check = 0;
  /// How long a quiet period must be (options.passivate_after, longer for
  /// a user that was woken soon after it passivated: see restore()).
  caf::timespan passivate_delay{0};
  bool passivate_scheduled = false;
  /// The snapshot offered to the shard, while it has not answered.
  std::shared_ptr<user_snapshot> leaving;
  size_t passivations = 0;
  size_t reads_in_flight = 0;
  /// Looked up once: the registry lookup takes a process-wide lock.
  std::shared_ptr<spdlog::logger> logger = log::get("actors");
  static inline const char* name = "user";
};

using user_self = user_actor::stateful_base<user_state>;

const inbox_actor& inbox(user_self* self) {
  auto& st = self->state;
  if (!st.inbox)
    st.inbox = self->system().registry().get<inbox_actor>(names::inbox);
  return st.inbox;
}

// After a failed request: the next one looks the inbox up again.
void forget_inbox(user_self* self) {
  self->state.inbox = nullptr;
}

void pump_one(user_self* self, uint64_t session_id);
void ensure_loaded(user_self* self);
void consider_passivating(user_self* self);

// Remembers pushes for traces and counts first pushes in the metrics.
void note_pushes(user_self* self, const std::vector<delivery>& batch,
                 const session_entry& to, bool resend) {
  auto& st = self->state;
  actors::note_pushes({st.sends, st.first_push_high}, batch,
                      {to.id, to.transport, resend, unix_seconds_now()}, st.key,
                      *st.logger);
}

std::string trace_of(user_self* self, int64_t message_id) {
  auto& st = self->state;
  auto sends = nlohmann::json::array();
  st.sends.for_each([&](const send_record& r) {
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
  });
  return sends.dump();
}

// One pass over every session. Polls waiting side by side share a pass,
// so a batch goes to only one of them.
void pump_all(user_self* self) {
  ++self->state.pass;
  std::vector<uint64_t> ids;
  for (const auto& [id, entry] : self->state.sessions)
    ids.push_back(id);
  for (auto id : ids)
    pump_one(self, id);
}

void pump(user_self* self, uint64_t session_id) {
  ++self->state.pass;
  pump_one(self, session_id);
}

// Progress goes to the shard when an ack moves it (sends ride along, and
// with the next tick or detach): the shard writes the cursors of all its
// users in one statement per flush. (A flush timer per user cost a clock
// round trip per push: with a thousand users each getting a message a
// second, the clock thread alone took a tenth of a core.)
void report_progress(user_self* self) {
  auto& st = self->state;
  if (st.user_id == 0)
    return;
  if (st.sent_high <= st.persisted_sent && st.acked_high <= st.persisted_acked)
    return;
  self->send(st.shard, user_progress{st.user_id, st.sent_high, st.acked_high});
  st.persisted_sent = st.sent_high;
  st.persisted_acked = st.acked_high;
}

// The next tick comes at the earliest resend deadline of the user's
// sessions, when the user is known and something is in flight: an ack
// usually comes first, and a tick then finds nothing to do. Otherwise (a
// load to retry, a user to look up again) a quarter of the ack timeout. A
// tick already due sooner is enough; one due later gets an earlier one
// beside it (a tick with nothing due does nothing).
void schedule_tick(user_self* self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto at = now + st.opts.ack_timeout / 4;
  if (st.stage == phase::ready) {
    auto earliest = time_point::max();
    for (const auto& [id, entry] : st.sessions) {
      time_point deadline;
      if (!entry.poll && entry.window.next_deadline(deadline))
        earliest = std::min(earliest, deadline);
    }
    if (earliest != time_point::max())
      at = std::max(earliest, now + std::chrono::milliseconds{1});
  }
  if (st.tick_at <= at)
    return;
  st.tick_at = at;
  self->delayed_send(self, at - now, tick_atom_v);
}

void schedule_idle_check(user_self* self) {
  auto& st = self->state;
  st.idle_since = self->clock().now();
  if (st.idle_scheduled)
    return;
  st.idle_scheduled = true;
  self->delayed_send(self, st.opts.idle_timeout, idle_atom_v);
}

void record_ack(user_self* self, int64_t seq);
void on_feed_items(user_self* self, feed_items& msg);

// A session can have at most what the feed holds: a client that says it
// is further (a database reset under a stale client) starts at the newest.
int64_t clamp_position(user_self* self, int64_t claimed) {
  return std::max<int64_t>(0, std::min(claimed, self->state.newest));
}

// Where a session stands: what its client has (a poll: where it starts).
int64_t position_of(const session_entry& entry) {
  return entry.poll ? entry.poll_after : entry.window.acked();
}

// Once the user's feed is known, every session hears where it resumes and
// the newest position, before anything is pushed to it.
void welcome_sessions(user_self* self) {
  for (auto& [id, entry] : self->state.sessions) {
    if (entry.welcomed)
      continue;
    if (auto sink = entry.sink.lock()) {
      entry.welcomed = true;
      sink->welcome(position_of(entry), self->state.newest);
    }
  }
}

// Sessions attached before the user was known start where they said,
// within what the feed holds.
void place_sessions(user_self* self) {
  for (auto& [id, entry] : self->state.sessions) {
    if (entry.poll) {
      entry.poll_after = clamp_position(self, entry.poll_after);
      record_ack(self, entry.poll_after);
    } else if (entry.window.unacked() == 0) {
      entry.window.reset(clamp_position(self, entry.window.acked()));
      record_ack(self, entry.window.acked());
    }
  }
  welcome_sessions(self);
}

void on_subscribed(user_self* self, int64_t live_after) {
  auto& st = self->state;
  st.stage = phase::ready;
  st.feed.start_live(live_after);
  place_sessions(self);
  // What existed before this actor started is backlog: pushing it is a
  // (re)delivery, not a fresh send with a commit-to-send time.
  st.first_push_high = std::max(st.first_push_high, live_after);
  if (!st.early.empty()) {
    feed_items early{std::move(st.early)};
    st.early.clear();
    on_feed_items(self, early);
  }
  if (st.reload_wanted && st.stage == phase::ready) {
    st.reload_wanted = false;
    st.stage = phase::loading;
    ensure_loaded(self);
  }
  pump_all(self);
  consider_passivating(self);
}

// The hourly cap counts the feed up to the live start before the first
// live message is decided; without caps there is nothing to count.
void seed_caps(user_self* self, int64_t live_after) {
  auto& st = self->state;
  if (!st.policy.has_caps()) {
    on_subscribed(self, live_after);
    return;
  }
  auto workers = inbox(self);
  if (!workers) {
    st.stage = phase::loading;
    schedule_tick(self);
    return;
  }
  self
    ->request(workers, std::chrono::seconds{10},
              load_cap_counts{st.user_id, live_after})
    .then(
      [self, live_after](std::vector<cap_count>& counts) {
        self->state.policy.seed(counts);
        on_subscribed(self, live_after);
      },
      [self](caf::error& err) {
        forget_inbox(self);
        self->state.logger->warn(
          "user {}/{}: cannot count for the cap: {}", self->state.key.app_id,
          self->state.key.external_id, self->system().render(err));
        // Subscribing again reads all of these from the database.
        self->state.early.clear();
        self->state.stage = phase::loading;
        schedule_tick(self);
      });
}

void on_loaded(user_self* self, storage::inbox_user& user) {
  auto& st = self->state;
  if (user.id == 0) {
    // Nobody by that name (yet): nothing to deliver; a poll hears so.
    st.stage = phase::unknown_user;
    st.newest = 0;
    place_sessions(self);
    pump_all(self);
    return;
  }
  st.user_id = user.id;
  st.newest = std::max(st.newest, user.newest);
  st.acked_high = std::max(st.acked_high, user.acked);
  st.persisted_acked = std::max(st.persisted_acked, user.acked);
  st.sent_high = std::max(st.sent_high, user.sent);
  st.persisted_sent = std::max(st.persisted_sent, user.sent);
  st.policy = web_policy{std::move(user.preferences), user.utc_offset_seconds};
  st.stage = phase::subscribing;
  subscribe msg{st.key, {}};
  for (auto& s : user.streams)
    msg.streams.push_back(std::move(s.stream));
  self->request(st.shard, std::chrono::seconds{10}, std::move(msg))
    .then([self](int64_t live_after) { seed_caps(self, live_after); },
          [self](caf::error& err) {
            self->state.logger->warn(
              "user {}/{}: cannot subscribe: {}", self->state.key.app_id,
              self->state.key.external_id, self->system().render(err));
            self->state.stage = phase::loading;
            schedule_tick(self);
          });
}

void ensure_loaded(user_self* self) {
  auto& st = self->state;
  if (st.stage != phase::loading || st.load_in_flight)
    return;
  auto workers = inbox(self);
  if (!workers) {
    schedule_tick(self); // retried on the next tick
    return;
  }
  st.load_in_flight = true;
  self->request(workers, std::chrono::seconds{10}, load_user{st.key})
    .then(
      [self](storage::inbox_user& user) {
        self->state.load_in_flight = false;
        on_loaded(self, user);
      },
      [self](caf::error& err) {
        self->state.load_in_flight = false;
        forget_inbox(self);
        self->state.logger->warn(
          "user {}/{}: cannot load: {}", self->state.key.app_id,
          self->state.key.external_id, self->system().render(err));
        schedule_tick(self);
      });
}

// Reads `range` of the feed from the database into the buffer.
void read_feed(user_self* self, const inbox_actor& workers,
               feed_reads::range range) {
  auto& st = self->state;
  auto [after, through] = range;
  self
    ->request(workers, std::chrono::seconds{10},
              load_feed{{st.user_id, after, through, st.opts.load_batch,
                         st.opts.load_bytes}})
    .then(
      [self, range](storage::feed_read& read) {
        auto& st = self->state;
        // A read stopped by a budget is complete only up to where it
        // stopped, whether or not the policy left messages out.
        auto complete_to = std::min(range.second, read.complete_through);
        st.reads.done(range, complete_to, read.deliveries.size(),
                      st.opts.load_batch);
        for (const auto& d : read.deliveries)
          st.newest = std::max(st.newest, d.seq);
        st.feed.add_range(range.first, complete_to, std::move(read.deliveries));
        pump_all(self);
        st.feed.trim(st.opts.cache_limit + 2 * st.opts.load_batch,
                     st.opts.cache_bytes);
        consider_passivating(self);
      },
      [self, range](caf::error& err) {
        self->state.reads.failed(range);
        forget_inbox(self);
        self->state.logger->warn(
          "user {}/{}: cannot load the feed: {}", self->state.key.app_id,
          self->state.key.external_id, self->system().render(err));
        schedule_tick(self);
      });
}

// Reads towards (after, through] of the feed, as far as the reads in
// flight allow (feed_reads).
void fetch(user_self* self, int64_t after, int64_t through) {
  auto& st = self->state;
  if (st.user_id == 0)
    return;
  auto workers = inbox(self);
  if (!workers) {
    schedule_tick(self);
    return;
  }
  for (auto range : st.reads.plan(after, through))
    read_feed(self, workers, range);
}

// Up to `max` messages after `p`; starts a database read where the buffer
// does not know what follows.
std::vector<delivery> collect(user_self* self, int64_t p, size_t max) {
  auto next = self->state.feed.after(p, max);
  if (next.fetch && next.items.empty())
    fetch(self, next.fetch->first, next.fetch->second);
  else if (next.fetch)
    fetch(self, next.items.back().seq, next.fetch->second);
  return std::move(next.items);
}

void pump_stream(user_self* self, session_entry& entry,
                 const session_ptr& sink) {
  auto& st = self->state;
  auto& window = entry.window;
  if (window.room() == 0)
    return;
  auto batch = collect(self, window.sent(), window.room());
  if (batch.empty())
    return;
  // A full window means the session is behind: read on ahead of it
  // while the client takes this batch.
  if (batch.size() == window.room())
    if (auto gap = st.feed.gap_ahead(batch.back().seq, st.opts.load_batch / 2))
      fetch(self, gap->first, gap->second);
  auto now = self->clock().now();
  for (const auto& d : batch)
    window.on_sent(d.seq, now, st.opts.ack_timeout);
  st.sent_high = std::max(st.sent_high, window.sent());
  st.pushed += batch.size();
  note_pushes(self, batch, entry, false);
  sink->deliver(std::move(batch));
  // What was just sent is due last: a tick already set comes first, and
  // the tick sets the next one (no pass over the sessions per push).
  if (st.tick_at > now + st.opts.ack_timeout)
    schedule_tick(self);
  // What was sent reaches the shard with the next ack, tick or detach:
  // a message to the shard per push cost 5-10 % of fan-out's CPU, and
  // only the admin view's "sent" reads it.
}

// A poll answers once: with what is after its position (skipping what a
// concurrent poll has just taken), or later, when something arrives.
bool pump_poll(user_self* self, session_entry& entry, const session_ptr& sink) {
  auto& st = self->state;
  auto start = entry.poll_after;
  if (st.handout_pass == st.pass && start >= st.handout_from &&
      start < st.handout_to)
    return false; // a poll waiting alongside took it: this one waits on
  auto batch = collect(self, start, st.opts.poll_batch);
  if (batch.empty()) {
    // Nothing after its position: an immediate poll hears so now, unless
    // a database read may still bring something.
    if (!entry.immediate || st.reads.any())
      return false;
    sink->deliver({});
    return true;
  }
  st.handout_from = start;
  st.handout_to = batch.back().seq;
  st.handout_pass = st.pass;
  st.sent_high = std::max(st.sent_high, st.handout_to);
  st.pushed += batch.size();
  note_pushes(self, batch, entry, false);
  sink->deliver(std::move(batch));
  report_progress(self);
  return true;
}

void forget_session(user_self* self,
                    std::map<uint64_t, session_entry>::iterator it) {
  auto& st = self->state;
  st.sessions.erase(it);
  report_progress(self);
  if (st.sessions.empty())
    schedule_idle_check(self);
}

void pump_one(user_self* self, uint64_t session_id) {
  auto& st = self->state;
  auto it = st.sessions.find(session_id);
  if (it == st.sessions.end())
    return;
  auto sink = it->second.sink.lock();
  if (!sink) {
    forget_session(self, it);
    return;
  }
  if (st.stage == phase::unknown_user) {
    // No such user: an immediate poll hears "nothing"; the others wait for
    // the user to be created, looked up again on every tick.
    if (it->second.poll && it->second.immediate) {
      sink->deliver({});
      forget_session(self, it);
    } else {
      schedule_tick(self);
    }
    return;
  }
  if (st.stage != phase::ready)
    return;
  if (!it->second.poll)
    pump_stream(self, it->second, sink);
  else if (pump_poll(self, it->second, sink))
    forget_session(self, it); // answered: the poll request is over
}

// Nothing past what the user's sessions were ever sent counts: a client's
// claim alone never moves the cursor.
void record_ack(user_self* self, int64_t seq) {
  auto& st = self->state;
  seq = std::min(seq, st.sent_high);
  if (seq > st.acked_high) {
    st.acked_high = seq;
    report_progress(self);
  }
}

void on_attach(user_self* self, attach_session& msg) {
  auto& st = self->state;
  auto& sink = msg.session;
  if (!sink)
    return;
  if (st.sessions.size() >= st.opts.max_sessions) {
    sink->close(protocol::too_many_sessions,
                protocol::describe(protocol::too_many_sessions));
    return;
  }
  auto position = st.stage == phase::ready ? clamp_position(self, msg.last_seq)
                                           : msg.last_seq;
  session_entry entry;
  entry.sink = sink;
  entry.poll = msg.poll;
  entry.immediate = msg.immediate;
  entry.window = session_window{position, st.opts.max_unacked};
  entry.poll_after = position;
  entry.id = sink->id();
  entry.transport = sink->transport();
  entry.remote = sink->remote_address();
  entry.since = self->clock().now();
  // A woken user's session: what the shard pushed it while the user was
  // passive is in flight, due for a resend when the actor would have set it.
  if (msg.in_flight && !msg.poll) {
    for (const auto& p : *msg.in_flight)
      if (p.d.seq > position && p.d.seq <= sink->sent_seq())
        entry.window.on_sent(p.d.seq, p.at, st.opts.ack_timeout);
  }
  auto id = sink->id();
  auto& placed = st.sessions[id] = std::move(entry);
  if (placed.window.unacked() > 0)
    schedule_tick(self);
  if (st.stage == phase::ready) {
    record_ack(self, position);
    placed.welcomed = true;
    sink->welcome(position, st.newest);
  }
  if (st.stage == phase::unknown_user) {
    // The user may exist by now (created after this actor looked).
    st.stage = phase::loading;
  }
  ensure_loaded(self);
  pump(self, id);
}

void on_detach(user_self* self, uint64_t session_id) {
  auto it = self->state.sessions.find(session_id);
  if (it != self->state.sessions.end())
    forget_session(self, it);
}

void on_ack(user_self* self, const client_ack& msg) {
  auto& st = self->state;
  auto it = st.sessions.find(msg.session_id);
  if (it == st.sessions.end())
    return;
  auto& entry = it->second;
  if (entry.poll)
    return;
  auto in_flight = entry.window.unacked();
  switch (entry.window.on_ack(msg.seq)) {
    case session_window::ack_result::advanced:
      // Seqs have gaps: what an ack covers is what left the window.
      metrics::deliveries_acked(in_flight - entry.window.unacked());
      record_ack(self, msg.seq);
      pump(self, msg.session_id);
      break;
    case session_window::ack_result::duplicate:
      break;
    case session_window::ack_result::unknown: {
      auto sink = entry.sink.lock();
      if (sink && msg.seq <= sink->sent_seq()) {
        // Sent by this actor's predecessor (before a restart): the client
        // has everything up to it and will not ack those again, so the
        // window starts over from there (within what the feed holds).
        auto upto =
          st.stage == phase::ready ? clamp_position(self, msg.seq) : msg.seq;
        entry.window.reset(upto);
        st.sent_high = std::max(st.sent_high, upto);
        record_ack(self, upto);
        pump(self, msg.session_id);
        break;
      }
      // Past what this session was ever sent: refused, nothing recorded.
      if (sink)
        sink->report("unknown_seq", "ack for seq " + std::to_string(msg.seq) +
                                      ", which this session was not sent");
      break;
    }
  }
}

// A message's web delivery for this user, or nothing when the user's
// preferences leave it out.
std::optional<delivery> to_delivery(user_self* self, const feed_item& item) {
  auto d = web_delivery(self->state.policy, item);
  if (!d)
    ++self->state.suppressed;
  return d;
}

void on_feed_items(user_self* self, feed_items& msg) {
  auto& st = self->state;
  if (st.stage == phase::subscribing) {
    // The shard answered the subscription already (its answer comes
    // before anything it fans out to us): these are live, keep them.
    st.early.insert(st.early.end(), msg.items.begin(), msg.items.end());
    return;
  }
  if (st.stage != phase::ready) {
    // Not subscribed (again) yet: the database read that follows the new
    // subscription covers these.
    for (const auto& item : msg.items)
      if (!item.message)
        st.reload_wanted = true;
    return;
  }
  for (const auto& item : msg.items) {
    if (!item.message) {
      // Memberships or preferences changed here: what follows may belong
      // to other streams now. Subscribe anew; everything after this
      // position is read again from the database up to the new
      // subscription, then arrives live.
      st.feed.truncate_after(item.position);
      st.stage = phase::loading;
      ensure_loaded(self);
      break;
    }
    if (auto d = to_delivery(self, item)) {
      st.newest = std::max(st.newest, d->seq);
      st.feed.add_live(std::move(*d));
    }
  }
  pump_all(self);
  st.feed.trim(st.opts.cache_limit, st.opts.cache_bytes);
}

void on_tick(user_self* self) {
  auto& st = self->state;
  st.tick_at = time_point::max();
  if (st.stage == phase::unknown_user && !st.sessions.empty())
    st.stage = phase::loading;
  if (st.stage == phase::loading)
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
      auto d = st.feed.find(seq);
      if (!d) {
        // No longer held: the session starts over from what it acked,
        // reading the rest again.
        entry.window.reset(entry.window.acked());
        batch.clear();
        break;
      }
      batch.push_back(*d);
    }
    st.resent += batch.size();
    if (!batch.empty()) {
      metrics::deliveries_redelivered(batch.size());
      note_pushes(self, batch, entry, true);
      sink->deliver(std::move(batch));
    }
    inflight = inflight || entry.window.unacked() > 0;
  }
  pump_all(self);
  report_progress(self);
  if (inflight || st.stage == phase::loading)
    schedule_tick(self);
}

const char* phase_name(phase p) {
  switch (p) {
    case phase::loading:
      return "loading";
    case phase::subscribing:
      return "subscribing";
    case phase::ready:
      return "ready";
    case phase::unknown_user:
      return "unknown_user";
  }
  return "?";
}

std::string describe(user_self* self) {
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
                        {"phase", phase_name(st.stage)},
                        {"loaded", st.stage == phase::ready},
                        {"last_seq", st.newest},
                        {"acked_seq", st.acked_high},
                        {"cached", st.feed.size()},
                        {"pushed", st.pushed},
                        {"resent", st.resent},
                        {"suppressed", st.suppressed},
                        {"passivations", st.passivations},
                        {"mailbox", self->mailbox().size()},
                        {"sessions", std::move(sessions)}}
    .dump();
}

void on_read(user_self* self, const client_read& msg, bool retry = true) {
  auto& st = self->state;
  auto workers = inbox(self);
  if (!workers || st.user_id == 0)
    return;
  auto session_id = msg.session_id;
  auto message_id = msg.message_id;
  ++st.reads_in_flight;
  self
    ->request(workers, std::chrono::seconds{10},
              persist_read{st.user_id, message_id})
    .then(
      [self, session_id, message_id](bool found) {
        --self->state.reads_in_flight;
        consider_passivating(self);
        auto it = self->state.sessions.find(session_id);
        if (found || it == self->state.sessions.end())
          return;
        if (auto sink = it->second.sink.lock())
          sink->report("unknown_message", "no message " +
                                            std::to_string(message_id) +
                                            " for this user");
      },
      [self, msg, retry](caf::error& err) {
        --self->state.reads_in_flight;
        forget_inbox(self);
        // The kept handle outlived its inbox: ask the one running now.
        if (retry && err == caf::sec::request_receiver_down) {
          on_read(self, msg, false);
          return;
        }
        // As without a handler: a read mark that cannot be written fails
        // the actor, which its shard restarts.
        self->quit(std::move(err));
      });
}

void on_idle(user_self* self) {
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
  report_progress(self);
  self->quit();
}

// Nothing the shard cannot do in the actor's place: nothing is being read,
// no poll waits, every stream session was welcomed and sent the same, and
// nothing in flight was resent (the shard's ack check knows no backoff).
// Then the actor's state fits a snapshot, a wake-up needs no database
// read, and the shard pushes to the sessions and takes their acks itself.
bool quiet(user_self* self) {
  auto& st = self->state;
  if (st.stage != phase::ready || st.sessions.empty() || st.reads.any() ||
      st.load_in_flight || st.reads_in_flight > 0 || !st.early.empty())
    return false;
  auto sent = st.sessions.begin()->second.window.sent();
  for (const auto& [id, entry] : st.sessions)
    if (entry.poll || !entry.welcomed || entry.window.sent() != sent ||
        entry.window.resending())
      return false;
  // Nothing waits for room in a window: the shard pushes only what comes.
  return st.feed.newest() <= sent;
}

// What the sessions have in flight, for the shard to watch in the actor's
// place: every delivery once, with when it was first pushed (its first
// deadline less the ack timeout). Nothing when the feed no longer holds
// one of them.
std::optional<pushed_deliveries> in_flight(user_self* self) {
  auto& st = self->state;
  std::map<int64_t, time_point> first_pushed;
  for (const auto& [id, entry] : st.sessions)
    entry.window.each_in_flight([&](int64_t seq, time_point deadline) {
      auto at = deadline - st.opts.ack_timeout;
      auto [it, made] = first_pushed.emplace(seq, at);
      if (!made)
        it->second = std::min(it->second, at);
    });
  pushed_deliveries out;
  out.reserve(first_pushed.size());
  for (const auto& [seq, at] : first_pushed) {
    auto d = st.feed.find(seq);
    if (!d)
      return std::nullopt;
    out.push_back({*d, at});
  }
  return out;
}

// One check at a time, after passivate_delay: a user that keeps getting
// messages sets no timer per message.
void consider_passivating(user_self* self) {
  auto& st = self->state;
  if (st.passivate_delay.count() <= 0 || st.passivate_scheduled || st.leaving ||
      !quiet(self))
    return;
  st.passivate_scheduled = true;
  st.busy_at_check = st.busy;
  self->delayed_send(self, st.passivate_delay, passivate_atom_v);
}

// Every passivated user with a session holds one snapshot: with its
// shared_ptr's 16 bytes it fits jemalloc's 192-byte class. Grow it
// knowingly.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(user_snapshot) <= 176,
              "user_snapshot left its 192-byte allocation class");
#endif

std::shared_ptr<user_snapshot> take_snapshot(user_self* self) {
  auto& st = self->state;
  auto snap = std::make_shared<user_snapshot>();
  snap->user_id = st.user_id;
  snap->newest = st.newest;
  snap->sent_high = st.sent_high;
  snap->acked_high = st.acked_high;
  // Each session has had all of its feed up to what it acknowledged, and
  // the rest is in flight (handed to the shard with the snapshot): past
  // the lowest of them, everything reaches the next actor from the shard.
  snap->complete_through = std::numeric_limits<int64_t>::max();
  for (const auto& [id, entry] : st.sessions)
    snap->complete_through =
      std::min(snap->complete_through, entry.window.acked());
  snap->first_push_high = st.first_push_high;
  snap->policy = st.policy;
  // Moved, not copied (up to a send log's records): taken back if the
  // shard refuses.
  snap->sends = std::move(st.sends);
  snap->pushed = st.pushed;
  snap->resent = st.resent;
  snap->suppressed = st.suppressed;
  snap->passivations = static_cast<uint32_t>(st.passivations + 1);
  snap->passivated_at = self->clock().now();
  // A quiet period is at most a minute once doubled; a configured one of
  // 49 days or more is held there.
  snap->passivate_delay = std::chrono::ceil<decltype(snap->passivate_delay)>(
    std::min<caf::timespan>(st.passivate_delay, std::chrono::hours{24 * 49}));
  return snap;
}

// The shard refused the snapshot: the send log comes back, with what was
// pushed meanwhile after it.
void stay(user_self* self) {
  auto& st = self->state;
  auto offered = std::move(st.leaving);
  if (!offered)
    return;
  auto newer = std::move(st.sends);
  st.sends = std::move(offered->sends);
  st.sends.append(newer);
}

void on_passivate_check(user_self* self) {
  auto& st = self->state;
  st.passivate_scheduled = false;
  if (st.leaving || !quiet(self))
    return; // the next quiet moment schedules another check
  if (st.busy != st.busy_at_check) {
    // The user's sessions had the actor to do in the meantime (an ack, a
    // read, a session): another period (a count, not a clock read per
    // message). New messages alone do not count: the shard pushes them
    // to a passive user itself.
    consider_passivating(self);
    return;
  }
  auto pushed = in_flight(self);
  if (!pushed)
    return; // the feed let go of something in flight: its resend reads it
            // again, and a later quiet moment checks anew
  passivate_request request{st.key, st.handled, nullptr, nullptr, {}};
  if (!pushed->empty())
    request.pushed =
      std::make_shared<const pushed_deliveries>(std::move(*pushed));
  for (const auto& [id, entry] : st.sessions)
    request.acked.emplace_back(id, entry.window.acked());
  report_progress(self); // reaches the shard before the request
  st.leaving = take_snapshot(self);
  request.snapshot = st.leaving;
  self->request(st.shard, std::chrono::seconds{10}, std::move(request))
    .then(
      [self](bool taken) {
        if (taken) {
          self->quit(); // the shard holds the state and the sessions now
          return;
        }
        // Something from the shard is on its way here: stay.
        stay(self);
        consider_passivating(self);
      },
      [self](caf::error&) { stay(self); });
}

// A woken actor: the user as it was when it passivated, subscribed still
// (the shard kept its streams), its sessions reattached by the shard, and
// what the shard pushed them meanwhile in its feed.
void restore(user_self* self, user_snapshot& snap,
             const pushed_deliveries* pushed) {
  auto& st = self->state;
  st.user_id = snap.user_id;
  st.newest = snap.newest;
  st.sent_high = st.persisted_sent = snap.sent_high;
  st.acked_high = st.persisted_acked = snap.acked_high;
  st.first_push_high = snap.first_push_high;
  st.policy = std::move(snap.policy);
  st.sends = std::move(snap.sends);
  st.pushed = snap.pushed;
  st.resent = snap.resent;
  st.suppressed = snap.suppressed;
  st.passivations = snap.passivations;
  // Woken soon after it passivated, the user gets messages every so often:
  // it waits twice as long before the next passivation (up to a minute),
  // so a user with a message every few seconds does not pay a stop and a
  // start for each. A user quiet for long starts over.
  auto asleep = self->clock().now() - snap.passivated_at;
  caf::timespan delay = snap.passivate_delay;
  if (asleep < 10 * delay)
    st.passivate_delay =
      std::min<caf::timespan>(2 * delay, std::chrono::minutes{1});
  st.stage = phase::ready;
  st.feed.start_live(snap.complete_through);
  if (pushed)
    for (const auto& p : *pushed)
      st.feed.add_live(p.d);
}

// What the shard sends is counted: the shard takes a snapshot only when
// the actor has taken all of it. A passivation check that finds that the
// actor had work of its own since (anything but new feed items and acks)
// waits another period.
void from_shard(user_self* self, bool actor_work = true) {
  ++self->state.handled;
  if (actor_work)
    ++self->state.busy;
}

// After a message from the shard: without sessions the idle timeout runs;
// with sessions, the actor may be quiet now. (Not on start: a timer holds
// its actor in memory until it fires, and a user that passivates soon
// after it started would stay there for the idle timeout.)
void settle(user_self* self) {
  auto& st = self->state;
  if (st.sessions.empty()) {
    if (!st.idle_scheduled)
      schedule_idle_check(self);
    return;
  }
  consider_passivating(self);
}

user_actor::behavior_type
user_behavior(user_self* self, user_key key, user_options options,
              user_shard_actor shard, std::shared_ptr<user_snapshot> snap,
              std::shared_ptr<const pushed_deliveries> pushed) {
  self->state.key = std::move(key);
  self->state.opts = options;
  self->state.shard = std::move(shard);
  self->state.passivate_delay = options.passivate_after;
  if (snap)
    restore(self, *snap, pushed.get());
  else
    ensure_loaded(self);
  return {
    [self](attach_session& msg) {
      from_shard(self);
      on_attach(self, msg);
      settle(self);
    },
    [self](const detach_session& msg) {
      from_shard(self);
      on_detach(self, msg.session_id);
      settle(self);
    },
    [self](const client_ack& msg) {
      // Not the actor's own work: the shard takes acks for a passive user.
      // Counted, a client acking every 64 messages of a steady stream
      // kept its actor running, and every message on the actor's path,
      // for as long as the stream lasted. What an ack lets the actor do
      // (send more, resend) keeps it by quiet() anyway.
      from_shard(self, false);
      on_ack(self, msg);
      settle(self);
    },
    [self](const client_read& msg) {
      from_shard(self);
      on_read(self, msg);
      settle(self);
    },
    [self](feed_items& msg) {
      from_shard(self, false);
      on_feed_items(self, msg);
      settle(self);
    },
    [self](tick_atom) {
      on_tick(self);
      consider_passivating(self);
    },
    [self](idle_atom) { on_idle(self); },
    [self](passivate_atom) { on_passivate_check(self); },
    [self](inspect_atom) {
      from_shard(self);
      settle(self);
      return describe(self);
    },
    [self](trace_atom, int64_t message_id) {
      from_shard(self);
      settle(self);
      return trace_of(self, message_id);
    },
    [self](crash_atom) {
      from_shard(self);
      self->quit(caf::make_error(errc::injected_crash));
    },
  };
}

} // namespace

user_actor spawn_user_actor(user_shard_actor::pointer parent, user_key key,
                            user_options options,
                            std::shared_ptr<user_snapshot> snapshot,
                            std::shared_ptr<const pushed_deliveries> pushed) {
  return parent->spawn(user_behavior, std::move(key), options,
                       caf::actor_cast<user_shard_actor>(parent),
                       std::move(snapshot), std::move(pushed));
}

} // namespace herald::actors
