#define CAF_SUITE actors.user

#include "actors/user/user_actor.hpp"

#include "actors/messages.hpp"
#include "actors/stream/tail_cursor.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/inbox_actor.hpp"
#include "actors/user/routing.hpp"
#include "actors/user/user_shard.hpp"
#include "core/protocol.hpp"
#include "fixtures/actor_system.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

using namespace herald;
using namespace herald::actors;
using namespace std::chrono_literals;

namespace {

// The user's feed as the inbox workers would read it from the database,
// kept in memory so that the scheduler stays deterministic (the real
// workers are detached actors with their own threads; the system tests run
// them against PostgreSQL). Ada (user 7) reads her own stream and store 3;
// Bob (user 8) reads his own stream and store 3.
struct inbox_state {
  std::map<int64_t, delivery> rows;
  std::vector<web_preference> ada_preferences;
  int64_t acked = 0;
  int64_t sent = 0;
  size_t cursor_writes = 0;
  size_t loads = 0;
  /// Messages per feed read when not 0, as a byte budget would cut it.
  size_t per_read = 0;
  static inline const char* name = "test_inbox";
};

using test_inbox_actor = inbox_actor::stateful_base<inbox_state>;

inbox_actor::behavior_type test_inbox(test_inbox_actor* self) {
  return {
    [self](const load_user& req) -> storage::inbox_user {
      ++self->state.loads;
      storage::inbox_user user;
      auto& rows = self->state.rows;
      if (req.user.external_id == "ada") {
        user.id = 7;
        user.streams = {{"user:7", 0}, {"store:3", 0}};
        user.preferences = self->state.ada_preferences;
      } else if (req.user.external_id == "bob") {
        user.id = 8;
        user.streams = {{"user:8", 0}, {"store:3", 0}};
      } else {
        return user;
      }
      user.acked = self->state.acked;
      user.newest = rows.empty() ? 0 : rows.rbegin()->first;
      return user;
    },
    [self](const load_feed& load) {
      const auto& req = load.range;
      storage::feed_read out;
      auto& got = out.deliveries;
      auto budget = self->state.per_read ? self->state.per_read : req.limit;
      auto most = std::min(req.limit, budget);
      for (auto it = self->state.rows.upper_bound(req.after);
           it != self->state.rows.end() && it->first <= req.through &&
           got.size() < most;
           ++it)
        got.push_back(it->second);
      out.complete_through = got.size() < most ? req.through : got.back().seq;
      return out;
    },
    [self](const persist_cursors& req) {
      ++self->state.cursor_writes;
      for (const auto& u : req.updates) {
        self->state.sent = std::max(self->state.sent, u.sent);
        self->state.acked = std::max(self->state.acked, u.acked);
      }
    },
    [](const persist_read&) { return true; },
    [](const load_cap_counts&) { return std::vector<cap_count>{}; },
    [](inspect_atom) { return std::string{R"({"kind":"test_inbox"})"}; },
  };
}

// A session that records what the user actor sends it.
class recording_session : public session_sink {
public:
  explicit recording_session(uint64_t id) : id_(id) {}

  // As the net sessions do: the first welcome counts, and resets what a
  // stale client claimed.
  void welcome(int64_t resume_from, int64_t newest) override {
    welcomes.emplace_back(resume_from, newest);
    if (welcomes.size() == 1 && seqs.empty()) {
      acked = std::min(acked, resume_from);
      sent = std::min(sent, resume_from);
    }
  }

  void deliver(std::vector<delivery> batch) override {
    // Nothing before the welcome: the client would not know where it is.
    if (welcomes.empty())
      out_of_order = true;
    ++pushes;
    for (auto& d : batch) {
      seqs.push_back(d.seq);
      sent = std::max(sent, d.seq);
    }
  }
  void report(const std::string& code, const std::string&) override {
    reports.push_back(code);
  }
  void close(uint16_t code, const std::string&) override { closed_with = code; }
  const char* transport() const override { return "websocket"; }
  std::string remote_address() const override { return "127.0.0.1"; }
  size_t queued_bytes() const override { return 0; }
  int64_t acked_seq() const override { return acked; }
  int64_t sent_seq() const override { return sent; }
  uint64_t id() const override { return id_; }

  std::vector<int64_t> seqs;
  size_t pushes = 0; ///< calls of deliver: a net session's writes
  std::vector<std::pair<int64_t, int64_t>> welcomes; ///< resume_from, newest
  bool out_of_order = false;
  std::vector<std::string> reports;
  uint16_t closed_with = 0;
  int64_t acked = 0;
  int64_t sent = 0;

private:
  uint64_t id_;
};

std::shared_ptr<const web_content> make_web(int64_t seq) {
  web_message m;
  m.id = 100 + seq;
  m.title = "t" + std::to_string(seq);
  return protocol::seal(m);
}

delivery make_delivery(int64_t seq) {
  return delivery{seq, false, make_web(seq)};
}

std::shared_ptr<const storage::message_content> make_content(int64_t seq) {
  auto content = std::make_shared<storage::message_content>();
  content->web = make_web(seq);
  content->message_type = "note";
  content->priority = "normal";
  return content;
}

struct fixture : test::actor_fixture {
  inbox_actor inbox;
  caf::actor users; // the supervisor of the shard
  std::shared_ptr<tail_cursor> tail = std::make_shared<tail_cursor>();
  user_key ada{1, "ada"};
  user_options opts;

  fixture() {
    inbox = sys.spawn(test_inbox);
    sys.registry().put(names::inbox, inbox);
    opts.max_unacked = 4;
    opts.ack_timeout = 1s;
    opts.max_resend_backoff = 8s;
    opts.idle_timeout = 30s;
    tail->dispatched = 0;
    std::vector<child_spec> shards{
      {"shard-0",
       [o = opts, t = tail](caf::event_based_actor* parent) {
         return caf::actor_cast<caf::actor>(spawn_user_shard(parent, 0, o, t));
       },
       restart_policy::permanent},
    };
    users = sys.spawn(supervisor, std::string{"users"}, supervisor_options{},
                      std::move(shards));
    run();
  }

  ~fixture() override {
    self->send_exit(users, caf::exit_reason::user_shutdown);
    self->send_exit(inbox, caf::exit_reason::user_shutdown);
    run();
    sys.registry().erase(names::inbox);
  }

  inbox_state& db() { return deref<test_inbox_actor>(inbox).state; }

  user_shard_actor shard() {
    return sys.registry().get<user_shard_actor>(shard_name(0));
  }

  void store(int64_t from, int64_t to) {
    for (auto seq = from; seq <= to; ++seq)
      db().rows[seq] = make_delivery(seq);
  }

  // Hands the shard a log batch as the tailer does after reading it, and
  // lets it run.
  void tail_batch(std::vector<storage::log_entry> entries, int64_t through) {
    send_batch(std::move(entries), through);
    run_once_all();
  }

  // The same, without letting the shard run: it finds the batch waiting.
  void send_batch(std::vector<storage::log_entry> entries, int64_t through) {
    storage::log_batch batch;
    batch.after = std::max<int64_t>(0, tail->dispatched.load());
    batch.through = through;
    batch.entries = std::move(entries);
    tail->dispatched = through;
    self->send(shard(), tailed{std::make_shared<const storage::log_batch>(
                          std::move(batch))});
  }

  // Lets the user actors' and then the shard's flush timers fire: the
  // cursors are written.
  void flush() {
    for (int i = 0; i < 2; ++i) {
      advance_time(opts.flush_interval);
      run_once_all();
    }
  }

  // Messages to Ada's own stream, committed and tailed.
  void announce(int64_t from, int64_t to) {
    announce_unseen(from, to);
    run_once_all();
  }

  // The same, without letting the shard run.
  void announce_unseen(int64_t from, int64_t to) {
    store(from, to);
    std::vector<storage::log_entry> entries;
    for (auto seq = from; seq <= to; ++seq)
      entries.push_back({seq, {"user:7"}, make_content(seq)});
    send_batch(std::move(entries), to);
  }

  std::shared_ptr<recording_session> attach(uint64_t id, int64_t last_seq) {
    auto s = std::make_shared<recording_session>(id);
    s->acked = last_seq;
    s->sent = last_seq;
    self->send(shard(), attach_session{ada, s, last_seq, false, false});
    run_once_all();
    return s;
  }

  // As the net sessions do, the session's own position moves only with
  // acks of what it was sent.
  void ack(const std::shared_ptr<recording_session>& s, int64_t seq) {
    if (seq <= s->sent)
      s->acked = std::max(s->acked, seq);
    self->send(shard(), client_ack{ada, s->id(), seq});
    run_once_all();
  }

  // Runs every message now, without letting the clock move (run() would
  // fire every pending timeout, jumping the clock to each).
  void run_once_all() {
    while (consume_message()) {
    }
  }

  // Lets Ada's actor, quiet since its last message, come to its
  // passivation check, and the shard answer it. A check set before the
  // last message finds it and waits one period more: two periods.
  void let_passivate() {
    for (int i = 0; i < 2; ++i) {
      advance_time(opts.passivate_after);
      run_once_all();
    }
  }

  // Ada online with session 1, one message acked, passivated, and the
  // session gone: what the shard holds for a user whose client left.
  void passivate_after_one_message_and_leave() {
    auto s = attach(1, 0);
    announce(1, 1);
    ack(s, 1);
    let_passivate();
    self->send(shard(), detach_session{ada, 1});
    run_once_all();
  }

  nlohmann::json shard_state() {
    return nlohmann::json::parse(request<std::string>(shard(), inspect_atom_v));
  }

  // The shard's state without letting the clock move: with pushes still
  // unacknowledged, request() would run their resends forever.
  nlohmann::json shard_state_now() {
    self->send(shard(), inspect_atom_v);
    run_once_all();
    nlohmann::json out;
    self->receive(
      [&](const std::string& text) { out = nlohmann::json::parse(text); });
    return out;
  }

  static std::vector<int64_t> range(int64_t from, int64_t to) {
    std::vector<int64_t> out;
    for (auto seq = from; seq <= to; ++seq)
      out.push_back(seq);
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(user_actor_tests, fixture)

CAF_TEST(a session receives new deliveries up to its window) {
  auto s = attach(1, 0);
  announce(1, 6);
  // max_unacked is 4: the rest waits for acks.
  CAF_CHECK_EQUAL(s->seqs, range(1, 4));
  ack(s, 2);
  CAF_CHECK_EQUAL(s->seqs, range(1, 6));
}

CAF_TEST(an ack before the timeout prevents a resend) {
  auto s = attach(1, 0);
  announce(1, 2);
  ack(s, 2);
  advance_time(5s);
  run_once_all();
  CAF_CHECK_EQUAL(s->seqs, range(1, 2));
  advance_time(1s);
  run_once_all();
  // The shard writes the cursors of its users in one batch per flush.
  CAF_CHECK_EQUAL(db().acked, 2);
  CAF_CHECK_EQUAL(db().sent, 2);
  CAF_CHECK_EQUAL(db().cursor_writes, 1u);
}

CAF_TEST(no ack within the timeout means a resend with backoff) {
  auto s = attach(1, 0);
  announce(1, 2);
  CAF_CHECK_EQUAL(s->seqs, range(1, 2));
  advance_time(1100ms);
  run_once_all();
  // Resent once: 1, 2 again.
  CAF_CHECK_EQUAL(s->seqs, (std::vector<int64_t>{1, 2, 1, 2}));
  // The next resend waits twice as long: not after one more second...
  advance_time(1s);
  run_once_all();
  CAF_CHECK_EQUAL(s->seqs.size(), 4u);
  // ...but after two.
  advance_time(1100ms);
  run_once_all();
  CAF_CHECK_EQUAL(s->seqs.size(), 6u);
  // An ack after the timeout still ends the resends.
  ack(s, 2);
  advance_time(20s);
  run_once_all();
  CAF_CHECK_EQUAL(s->seqs.size(), 6u);
  flush();
  CAF_CHECK_EQUAL(db().acked, 2);
}

CAF_TEST(duplicate acks are harmless and unknown seqs are reported) {
  auto s = attach(1, 0);
  announce(1, 3);
  ack(s, 2);
  ack(s, 2);
  ack(s, 1);
  CAF_CHECK(s->reports.empty());
  ack(s, 9);
  CAF_REQUIRE_EQUAL(s->reports.size(), 1u);
  CAF_CHECK_EQUAL(s->reports[0], "unknown_seq");
  ack(s, 3);
  flush();
  CAF_CHECK_EQUAL(db().acked, 3);
}

CAF_TEST(a reconnect inside the unacked window resumes after last_seq) {
  announce(1, 6);
  auto first = attach(1, 0);
  CAF_CHECK_EQUAL(first->seqs, range(1, 4));
  ack(first, 2);
  self->send(shard(), detach_session{ada, 1});
  run_once_all();
  // The client kept 1..3 (it acked only 2) and says so.
  auto again = attach(2, 3);
  CAF_CHECK_EQUAL(again->seqs, range(4, 6));
}

CAF_TEST(two sessions at different positions each get what they miss) {
  announce(1, 5);
  auto behind = attach(1, 0);
  auto ahead = attach(2, 4);
  CAF_CHECK_EQUAL(behind->seqs, range(1, 4));
  CAF_CHECK_EQUAL(ahead->seqs, range(5, 5));
  announce(6, 6);
  CAF_CHECK_EQUAL(ahead->seqs, range(5, 6));
  CAF_CHECK_EQUAL(behind->seqs, range(1, 4)); // its window is full
  ack(behind, 4);
  CAF_CHECK_EQUAL(behind->seqs, range(1, 6));
}

CAF_TEST(a crashed user actor is restarted and its sessions keep receiving) {
  auto s = attach(1, 0);
  announce(1, 2);
  ack(s, 2);
  self->send(shard(), crash_atom_v, ada);
  run_once_all();
  // The new actor resends from where the session started; the client acks
  // what it has.
  ack(s, 2);
  auto state =
    nlohmann::json::parse(request<std::string>(shard(), inspect_atom_v));
  CAF_CHECK_EQUAL(state["user_restarts"].get<int>(), 1);
  CAF_REQUIRE_EQUAL(state["children"].size(), 1u);
  CAF_CHECK_EQUAL(state["children"][0]["restarts"].get<int>(), 1);
  CAF_CHECK_EQUAL(state["children"][0]["sessions"].get<int>(), 1);
  // The new actor resumes the session where its client stated when it
  // connected: it may repeat what was acked since (the client drops seqs
  // it has), but it skips nothing.
  announce(3, 4);
  std::vector<int64_t> seen;
  for (auto seq : s->seqs)
    if (seen.empty() || seq > seen.back())
      seen.push_back(seq);
  CAF_CHECK_EQUAL(seen, range(1, 4));
}

CAF_TEST(an ack past what the session was sent changes nothing) {
  auto s = attach(1, 0);
  announce(1, 3);
  ack(s, 999);
  CAF_REQUIRE_EQUAL(s->reports.size(), 1u);
  CAF_CHECK_EQUAL(s->reports[0], "unknown_seq");
  flush();
  CAF_CHECK_EQUAL(db().acked, 0);
  // Not even after the user actor restarts: the messages after 3 arrive.
  self->send(shard(), crash_atom_v, ada);
  run_once_all();
  announce(4, 5);
  ack(s, 4); // the window (4) is full of resends and 4
  CAF_CHECK_EQUAL(s->seqs.back(), 5);
}

CAF_TEST(an ack of what the crashed actor sent moves the new one on) {
  auto s = attach(1, 0);
  announce(1, 6);
  CAF_CHECK_EQUAL(s->seqs, range(1, 4)); // the window is full
  self->send(shard(), crash_atom_v, ada);
  // The client's ack of 4 (sent before the crash) reaches the new actor
  // while it loads: genuine, since the session was sent 4.
  ack(s, 4);
  CAF_CHECK(s->reports.empty());
  CAF_CHECK_EQUAL(s->seqs.back(), 6);
  CAF_CHECK_EQUAL(std::count(s->seqs.begin(), s->seqs.end(), 5), 1);
}

CAF_TEST(a feed read its budget cut short goes on where it stopped) {
  // Each read brings one message and says it is complete only that far
  // (as 1 MiB of large messages would): fewer than asked is not the end.
  db().per_read = 1;
  store(1, 6);
  tail_batch({}, 6); // committed and tailed before Ada came online
  auto s = attach(1, 0);
  CAF_CHECK_EQUAL(s->seqs, range(1, 4));
  ack(s, 4);
  CAF_CHECK_EQUAL(s->seqs, range(1, 6));
}

CAF_TEST(a client further than the feed starts at the newest position) {
  announce(1, 2);
  auto s = attach(1, 50);
  // The welcome says so, so that the client does not drop what follows as
  // seqs it already has.
  CAF_REQUIRE_EQUAL(s->welcomes.size(), 1u);
  CAF_CHECK_EQUAL(s->welcomes[0], std::make_pair(int64_t{2}, int64_t{2}));
  announce(3, 3);
  CAF_CHECK_EQUAL(s->seqs, range(3, 3));
  CAF_CHECK(!s->out_of_order);
}

CAF_TEST(the welcome comes once the user is known and before any message) {
  announce(1, 3);
  auto s = attach(1, 1);
  CAF_REQUIRE_EQUAL(s->welcomes.size(), 1u);
  CAF_CHECK_EQUAL(s->welcomes[0], std::make_pair(int64_t{1}, int64_t{3}));
  CAF_CHECK_EQUAL(s->seqs, range(2, 3));
  CAF_CHECK(!s->out_of_order);
  // A second session of a user already loaded is welcomed at once.
  auto t = attach(2, 3);
  CAF_REQUIRE_EQUAL(t->welcomes.size(), 1u);
  CAF_CHECK_EQUAL(t->welcomes[0], std::make_pair(int64_t{3}, int64_t{3}));
  // A restarted actor says it again; the session heeds only the first.
  self->send(shard(), crash_atom_v, ada);
  run_once_all();
  CAF_CHECK_EQUAL(s->welcomes.size(), 2u);
  CAF_CHECK(!s->out_of_order);
}

CAF_TEST(a session of a user nobody knows is welcomed at zero) {
  auto s = std::make_shared<recording_session>(1);
  s->acked = s->sent = 10;
  self->send(shard(),
             attach_session{user_key{ada.app_id, "eve"}, s, 10, false, false});
  run_once_all();
  CAF_REQUIRE_EQUAL(s->welcomes.size(), 1u);
  CAF_CHECK_EQUAL(s->welcomes[0], std::make_pair(int64_t{0}, int64_t{0}));
  CAF_CHECK_EQUAL(s->sent, 0);
}

CAF_TEST(a store message reaches each member once and in order) {
  auto a = attach(1, 0);
  auto b = std::make_shared<recording_session>(2);
  self->send(shard(), attach_session{user_key{1, "bob"}, b, 0, false, false});
  run_once_all();
  // 1 to Ada alone, 2 to the store and Ada (one position, two streams),
  // 3 to Bob alone, 4 to the store.
  std::vector<storage::log_entry> entries{
    {1, {"user:7"}, make_content(1)},
    {2, {"store:3", "user:7"}, make_content(2)},
    {3, {"user:8"}, make_content(3)},
    {4, {"store:3"}, make_content(4)},
    {5, {"topic:9"}, make_content(5)}, // nobody here reads it
  };
  tail_batch(std::move(entries), 5);
  CAF_CHECK_EQUAL(a->seqs, (std::vector<int64_t>{1, 2, 4}));
  CAF_CHECK_EQUAL(b->seqs, (std::vector<int64_t>{2, 3, 4}));
}

CAF_TEST(messages of an opted out type are left out and quiet ones silent) {
  web_preference off;
  off.message_type = "promo";
  off.enabled = false;
  db().ada_preferences = {off};
  auto s = std::make_shared<recording_session>(1);
  self->send(shard(), attach_session{ada, s, 0, false, false});
  run_once_all();
  auto promo = std::make_shared<storage::message_content>(*make_content(1));
  promo->message_type = "promo";
  std::vector<storage::log_entry> entries{
    {1, {"user:7"}, promo},
    {2, {"user:7"}, make_content(2)},
  };
  tail_batch(std::move(entries), 2);
  CAF_CHECK_EQUAL(s->seqs, range(2, 2));
}

CAF_TEST(the hourly cap leaves out what passes it within the hour) {
  web_preference capped;
  capped.hourly_cap = 2;
  db().ada_preferences = {capped};
  auto s = attach(1, 0);
  std::vector<storage::log_entry> entries;
  for (int64_t seq = 1; seq <= 4; ++seq)
    entries.push_back({seq, {"user:7"}, make_content(seq)});
  tail_batch(std::move(entries), 4);
  // All four were committed in the same hour (created at 0): two pass.
  CAF_CHECK_EQUAL(s->seqs, range(1, 2));
}

CAF_TEST(a control entry makes the user load its streams again) {
  auto s = attach(1, 0);
  auto loads = db().loads;
  // A message in the same batch as the control entry comes from the
  // database read that follows the new subscription.
  store(2, 2);
  tail_batch({{1, {"user:7"}, nullptr}, {2, {"user:7"}, make_content(2)}}, 2);
  CAF_CHECK_EQUAL(db().loads, loads + 1);
  announce(3, 3);
  CAF_CHECK_EQUAL(s->seqs, range(2, 3));
}

CAF_TEST(a shard that does not know the log position holds subscriptions) {
  tail->dispatched = -1;
  self->send(shard(), crash_atom_v);
  run();
  auto s = attach(1, 0);
  announce(1, 1);
  CAF_CHECK_EQUAL(s->seqs, range(1, 1));
}

CAF_TEST(too many sessions are refused with the documented code) {
  // The shard's user actors take 16 sessions (user_options' default).
  std::vector<std::shared_ptr<recording_session>> sessions;
  for (uint64_t id = 1; id <= 17; ++id)
    sessions.push_back(attach(id, 0));
  CAF_CHECK_EQUAL(sessions.back()->closed_with,
                  static_cast<uint16_t>(protocol::too_many_sessions));
  CAF_CHECK_EQUAL(sessions.front()->closed_with, 0);
}

CAF_TEST(a user with no sessions stops after the idle timeout) {
  auto s = attach(1, 0);
  self->send(shard(), detach_session{ada, 1});
  run_once_all();
  advance_time(31s);
  run_once_all();
  auto state =
    nlohmann::json::parse(request<std::string>(shard(), inspect_atom_v));
  CAF_CHECK_EQUAL(state["users"].get<int>(), 0);
}

CAF_TEST(a quiet user passivates and its shard pushes to it without waking it) {
  auto s = attach(1, 0);
  announce(1, 2);
  ack(s, 2);
  auto loads = db().loads;
  let_passivate();
  auto state = shard_state_now();
  CAF_CHECK_EQUAL(state["passivated"].get<int>(), 1);
  CAF_REQUIRE_EQUAL(state["children"].size(), 1u);
  CAF_CHECK_EQUAL(state["children"][0]["state"], "passive");
  CAF_CHECK_EQUAL(state["children"][0]["sessions"].get<int>(), 1);
  // The next messages go to the session from the shard: in order, the
  // user not read again, no actor started.
  announce(3, 4);
  CAF_CHECK_EQUAL(s->seqs, range(1, 4));
  CAF_CHECK_EQUAL(db().loads, loads);
  CAF_CHECK(!s->out_of_order);
  state = shard_state_now();
  CAF_CHECK_EQUAL(state["woken"].get<int>(), 0);
  CAF_CHECK_EQUAL(state["pushed_passively"].get<int>(), 2);
  CAF_CHECK_EQUAL(state["children"][0]["pushed_unacked"].get<int>(), 2);
  // Its ack settles them and reaches the cursor, still without the actor.
  ack(s, 4);
  CAF_CHECK(s->reports.empty());
  flush();
  CAF_CHECK_EQUAL(db().acked, 4);
  state = shard_state_now();
  CAF_CHECK_EQUAL(state["woken"].get<int>(), 0);
  CAF_CHECK_EQUAL(state["children"][0]["state"], "passive");
  CAF_CHECK_EQUAL(state["children"][0]["pushed_unacked"].get<int>(), 0);
  // The trace wakes it: what its actor pushed before the passivation and
  // what the shard pushed since are both there.
  for (int64_t seq : {1, 3}) {
    auto trace = nlohmann::json::parse(
      request<std::string>(shard(), trace_atom_v, ada, 100 + seq));
    CAF_REQUIRE_EQUAL(trace.size(), 1u);
    CAF_CHECK_EQUAL(trace[0]["seq"].get<int64_t>(), seq);
  }
  CAF_CHECK_GREATER_OR_EQUAL(shard_state_now()["woken"].get<int>(), 1);
  // It goes on from there.
  announce(5, 5);
  CAF_CHECK_EQUAL(s->seqs, range(1, 5));
}

CAF_TEST(
  a push of the shard s left unacknowledged is resent by the woken actor) {
  auto s = attach(1, 0);
  announce(1, 1);
  ack(s, 1);
  let_passivate();
  announce(2, 3);
  CAF_CHECK_EQUAL(s->seqs, range(1, 3));
  // Within the ack timeout nothing happens...
  advance_time(opts.ack_timeout / 2);
  run_once_all();
  CAF_CHECK_EQUAL(shard_state_now()["woken"].get<int>(), 0);
  // ...after it, the actor wakes and resends both, as it would its own.
  advance_time(opts.ack_timeout / 2);
  run_once_all();
  advance_time(10ms); // the actor's tick comes a moment after it wakes
  run_once_all();
  auto state = shard_state_now();
  CAF_CHECK_EQUAL(state["woken_to_resend"].get<int>(), 1);
  CAF_CHECK_EQUAL(s->seqs, (std::vector<int64_t>{1, 2, 3, 2, 3}));
  ack(s, 3);
  // Then it backs off no further and goes on.
  advance_time(4 * opts.ack_timeout);
  run_once_all();
  announce(4, 4);
  CAF_CHECK_EQUAL(s->seqs, (std::vector<int64_t>{1, 2, 3, 2, 3, 4}));
  CAF_CHECK(s->reports.empty());
}

CAF_TEST(batches that waited for a busy shard reach a session in one push) {
  auto s = attach(1, 0);
  announce(1, 1);
  ack(s, 1);
  let_passivate();
  auto before = shard_state_now();
  auto pushes = s->pushes;
  // Three commits tailed while the shard was busy: one fan-out, and one
  // push (one write) to the session, in order.
  announce_unseen(2, 2);
  announce_unseen(3, 4);
  announce_unseen(5, 5);
  run_once_all();
  CAF_CHECK_EQUAL(s->seqs, range(1, 5));
  CAF_CHECK_EQUAL(s->pushes, pushes + 1);
  auto after = shard_state_now();
  CAF_CHECK_EQUAL(after["batches"].get<int>() - before["batches"].get<int>(),
                  3);
  CAF_CHECK_EQUAL(
    after["fan_out_turns"].get<int>() - before["fan_out_turns"].get<int>(), 1);
  CAF_CHECK_EQUAL(after["woken"].get<int>(), 0);
  // A batch that finds the shard idle goes out on its own.
  ack(s, 5);
  announce(6, 6);
  CAF_CHECK_EQUAL(s->pushes, pushes + 2);
}

CAF_TEST(a user with messages in flight passivates and its shard takes them) {
  auto s = attach(1, 0);
  // The actor pushes two and gets no ack; new messages alone do not keep
  // it from passivating, and what is in flight goes to the shard.
  announce(1, 2);
  let_passivate();
  auto state = shard_state_now();
  CAF_CHECK_EQUAL(state["passivated"].get<int>(), 1);
  CAF_CHECK_EQUAL(state["children"][0]["pushed_unacked"].get<int>(), 2);
  announce(3, 3);
  CAF_CHECK_EQUAL(s->seqs, range(1, 3));
  // One ack covers the actor's pushes and the shard's.
  ack(s, 3);
  flush();
  CAF_CHECK_EQUAL(db().acked, 3);
  state = shard_state_now();
  CAF_CHECK_EQUAL(state["woken"].get<int>(), 0);
  CAF_CHECK_EQUAL(state["children"][0]["pushed_unacked"].get<int>(), 0);
  CAF_CHECK(s->reports.empty());
}

CAF_TEST(what the actor left in flight is resent when it was due) {
  auto s = attach(1, 0);
  announce(1, 1);
  let_passivate();
  CAF_CHECK_EQUAL(shard_state_now()["passivated"].get<int>(), 1);
  // Due an ack timeout after the actor pushed it, not after it passivated:
  // the shard's check wakes the actor, which resends it at once.
  advance_time(opts.ack_timeout - 2 * opts.passivate_after);
  run_once_all();
  advance_time(opts.ack_timeout / 4);
  run_once_all();
  advance_time(10ms);
  run_once_all();
  CAF_CHECK_EQUAL(s->seqs, (std::vector<int64_t>{1, 1}));
  CAF_CHECK_EQUAL(shard_state_now()["woken_to_resend"].get<int>(), 1);
  ack(s, 1);
  announce(2, 2);
  CAF_CHECK_EQUAL(s->seqs, (std::vector<int64_t>{1, 1, 2}));
}

CAF_TEST(a client back after a moment gets what came from the shard) {
  passivate_after_one_message_and_leave();
  auto loads = db().loads;
  // Messages while nobody is there are held at the shard...
  announce(2, 3);
  // ...and a client that reconnects with what it had gets them from
  // there: welcomed, no actor started, no read.
  auto again = attach(2, 1);
  CAF_CHECK_EQUAL(again->welcomes.size(), 1u);
  CAF_CHECK_EQUAL(again->seqs, range(2, 3));
  CAF_CHECK(!again->out_of_order);
  auto state = shard_state_now();
  CAF_CHECK_EQUAL(state["woken"].get<int>(), 0);
  CAF_CHECK_EQUAL(state["attached_passively"].get<int>(), 1);
  CAF_CHECK_EQUAL(db().loads, loads);
  ack(again, 3);
  flush();
  CAF_CHECK_EQUAL(db().acked, 3);
  // A client further behind than the shard holds wakes the actor, which
  // reads what it lacks.
  auto behind = attach(3, 0);
  CAF_CHECK_EQUAL(behind->seqs, range(1, 3));
  CAF_CHECK_EQUAL(shard_state_now()["woken"].get<int>(), 1);
}

CAF_TEST(a passive user whose window is full wakes and waits for acks) {
  auto s = attach(1, 0);
  announce(1, 1);
  ack(s, 1);
  let_passivate();
  // The window (4) takes four from the shard; the fifth is the actor's,
  // which knows the four are in flight and waits.
  announce(2, 5);
  announce(6, 6);
  CAF_CHECK_EQUAL(s->seqs, range(1, 5));
  auto state = shard_state_now();
  CAF_CHECK_EQUAL(state["woken"].get<int>(), 1);
  CAF_CHECK_EQUAL(state["children"][0]["state"], "running");
  ack(s, 5);
  CAF_CHECK_EQUAL(s->seqs, range(1, 6));
  CAF_CHECK(s->reports.empty());
}

CAF_TEST(two sessions of a passive user each get the shard s pushes) {
  auto first = attach(1, 0);
  auto second = attach(2, 0);
  announce(1, 1);
  ack(first, 1);
  ack(second, 1);
  let_passivate();
  CAF_CHECK_EQUAL(shard_state_now()["passivated"].get<int>(), 1);
  announce(2, 3);
  CAF_CHECK_EQUAL(first->seqs, range(1, 3));
  CAF_CHECK_EQUAL(second->seqs, range(1, 3));
  // One session's ack settles nothing the other has not acknowledged.
  ack(first, 3);
  CAF_CHECK_EQUAL(shard_state_now()["children"][0]["pushed_unacked"].get<int>(),
                  2);
  ack(second, 2);
  CAF_CHECK_EQUAL(shard_state_now()["children"][0]["pushed_unacked"].get<int>(),
                  1);
  // A new session wakes the user; it reads what it lacks, and the second
  // session's unacknowledged push is resent after the ack timeout.
  auto third = attach(3, 0);
  CAF_CHECK_EQUAL(third->seqs, range(1, 3));
  advance_time(opts.ack_timeout);
  run_once_all();
  CAF_CHECK_EQUAL(first->seqs, range(1, 3));
  CAF_CHECK_EQUAL(second->seqs, (std::vector<int64_t>{1, 2, 3, 3}));
}

CAF_TEST(a passive user s bogus ack wakes it to be answered) {
  auto s = attach(1, 0);
  announce(1, 1);
  ack(s, 1);
  let_passivate();
  ack(s, 9);
  CAF_CHECK_EQUAL(s->reports, std::vector<std::string>{"unknown_seq"});
  flush();
  CAF_CHECK_EQUAL(db().acked, 1);
}

CAF_TEST(a message on its way to the actor keeps it from passivating) {
  auto s = attach(1, 0);
  announce(1, 1);
  ack(s, 1);
  // The check comes due (new messages and acks are not the actor's own
  // work), and before the shard hears the actor's request it hands the
  // actor another message: the shard refuses, nothing is lost.
  advance_time(opts.passivate_after);
  announce(2, 2);
  CAF_CHECK_EQUAL(s->seqs, range(1, 2));
  ack(s, 2);
  auto state = shard_state();
  CAF_CHECK_EQUAL(state["passivated"].get<int>(), 0);
  CAF_CHECK_EQUAL(state["children"][0]["state"], "running");
  // The send log went with the refused snapshot and came back, with the
  // push made meanwhile.
  for (int64_t id : {101, 102}) {
    auto trace = nlohmann::json::parse(
      request<std::string>(shard(), trace_atom_v, ada, id));
    CAF_CHECK_EQUAL(trace.size(), 1u);
  }
  // Quiet again, it goes (the requests above let the clock run: it may
  // have gone and been woken already).
  let_passivate();
  CAF_CHECK_GREATER_OR_EQUAL(shard_state()["passivated"].get<int>(), 1);
  announce(3, 3);
  CAF_CHECK_EQUAL(s->seqs, range(1, 3));
}

CAF_TEST(a user woken soon after it passivated waits longer the next time) {
  auto s = attach(1, 0);
  announce(1, 1);
  ack(s, 1);
  let_passivate();
  CAF_CHECK_EQUAL(shard_state()["passivated"].get<int>(), 1);
  // Woken a moment later (a read is the actor's): the next quiet period
  // must last two seconds.
  self->send(shard(), client_read{ada, 1, 101});
  run_once_all();
  CAF_CHECK_EQUAL(shard_state_now()["woken"].get<int>(), 1);
  announce(2, 2);
  ack(s, 2);
  for (int i = 0; i < 2; ++i) {
    advance_time(opts.passivate_after);
    run_once_all();
  }
  auto state =
    nlohmann::json::parse(request<std::string>(shard(), inspect_atom_v));
  CAF_CHECK_EQUAL(state["passivated"].get<int>(), 1);
  for (int i = 0; i < 2; ++i) {
    advance_time(2 * opts.passivate_after);
    run_once_all();
  }
  CAF_CHECK_EQUAL(shard_state()["passivated"].get<int>(), 2);
  CAF_CHECK_EQUAL(s->seqs, range(1, 2));
}

CAF_TEST(a new session wakes a passivated user and both go on) {
  auto first = attach(1, 0);
  announce(1, 2);
  ack(first, 2);
  let_passivate();
  CAF_CHECK_EQUAL(shard_state()["passivated"].get<int>(), 1);
  auto loads = db().loads;
  // From the start: what it lacks is read from the feed, not the user.
  auto second = attach(2, 0);
  CAF_CHECK_EQUAL(second->seqs, range(1, 2));
  announce(3, 3);
  CAF_CHECK_EQUAL(first->seqs, range(1, 3));
  CAF_CHECK_EQUAL(second->seqs, range(1, 3));
  CAF_CHECK_EQUAL(db().loads, loads);
  // A passivated user whose last session leaves stays for the idle
  // timeout, as any user does, but passive: its sessions leave without
  // starting its actor.
  ack(first, 3);
  ack(second, 3);
  let_passivate();
  auto started = shard_state()["started"].get<int>();
  self->send(shard(), detach_session{ada, 1});
  self->send(shard(), detach_session{ada, 2});
  run_once_all();
  auto state = shard_state();
  CAF_CHECK_EQUAL(state["users"].get<int>(), 1);
  CAF_CHECK_EQUAL(state["started"].get<int>(), started);
  CAF_CHECK_EQUAL(state["children"][0]["state"], "passive");
  advance_time(31s);
  run_once_all();
  CAF_CHECK_EQUAL(shard_state()["users"].get<int>(), 0);
}

CAF_TEST(a passivated user whose sessions left takes a new one without a read) {
  passivate_after_one_message_and_leave();
  auto loads = db().loads;
  // Back within the idle timeout: from the snapshot, without a read of
  // the user, and what came meanwhile reaches it.
  advance_time(10s);
  run_once_all();
  auto again = attach(2, 1);
  announce(2, 2);
  CAF_CHECK_EQUAL(again->seqs, range(2, 2));
  CAF_CHECK_EQUAL(db().loads, loads);
  // Its own idle timeout starts again when it leaves: the sweep set at
  // the first departure does not take it.
  self->send(shard(), detach_session{ada, 2});
  run_once_all();
  advance_time(25s);
  run_once_all();
  CAF_CHECK_EQUAL(shard_state()["users"].get<int>(), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
