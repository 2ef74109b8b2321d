#define CAF_SUITE actors.tailer

#include "actors/stream/tailer.hpp"

#include "actors/messages.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/messages.hpp"
#include "actors/user/routing.hpp"
#include "fixtures/actor_system.hpp"
#include "storage/error.hpp"

#include <map>

using namespace herald;
using namespace herald::actors;
using namespace std::chrono_literals;

namespace {

// The stream log as the database would hold it: committed positions up to
// `head`, an entry at some of them. Shared with the tailer's log source,
// so that a test can commit more or make reads fail while it runs.
struct fake_log {
  int64_t head = 0;
  std::map<int64_t, storage::log_entry> entries;
  bool failing = false;
  size_t reads = 0;

  void commit(int64_t position, std::string stream) {
    auto m = std::make_shared<storage::message_content>();
    auto web = std::make_shared<web_content>();
    web->id = position;
    m->web = std::move(web);
    entries[position] = {position, {std::move(stream)}, m};
    head = std::max(head, position);
  }
};

// Reads a fake_log the way storage::log_reader reads the database.
class fake_source : public storage::log_source {
public:
  explicit fake_source(std::shared_ptr<fake_log> log) : log_(std::move(log)) {}

  int64_t head() override {
    check();
    return log_->head;
  }

  storage::log_batch read_after(int64_t after, int64_t max) override {
    check();
    ++log_->reads;
    storage::log_batch batch{after, std::min(log_->head, after + max), {}};
    for (auto it = log_->entries.upper_bound(after);
         it != log_->entries.end() && it->first <= batch.through; ++it)
      batch.entries.push_back(it->second);
    return batch;
  }

private:
  void check() {
    if (log_->failing)
      throw storage::error{storage::errc::unreachable, "the database is down"};
  }
  std::shared_ptr<fake_log> log_;
};

// Stands in for user shard `index`: keeps every batch it is handed.
struct recorded_batches {
  std::vector<storage::log_batch> batches;
  static inline const char* name = "recording_shard";
};

caf::behavior recording_shard(caf::stateful_actor<recorded_batches>* self,
                              size_t index) {
  self->system().registry().put(shard_name(index), self);
  return {
    [self](const tailed& msg) { self->state.batches.push_back(*msg.batch); },
  };
}

struct fixture : test::actor_fixture {
  std::shared_ptr<fake_log> log = std::make_shared<fake_log>();
  std::shared_ptr<tail_cursor> tail = std::make_shared<tail_cursor>();
  tailer_options opts;
  caf::actor shards[2];
  caf::actor ingest;

  fixture() {
    for (size_t i = 0; i < 2; ++i)
      shards[i] = sys.spawn(recording_shard, i);
    opts.shards = 2;
    opts.batch_positions = 10;
    opts.batches_per_turn = 2;
    opts.retry_delay = 500ms;
    opts.detached = false;
    opts.open_log = [l = log] {
      return std::make_unique<fake_source>(l);
    };
  }

  ~fixture() override {
    if (ingest)
      self->send_exit(ingest, caf::exit_reason::user_shutdown);
    for (auto& s : shards)
      self->send_exit(s, caf::exit_reason::user_shutdown);
    run();
    for (size_t i = 0; i < 2; ++i)
      sys.registry().erase(shard_name(i));
  }

  // The tailer under a supervisor, as the engine runs it.
  void start() {
    std::vector<child_spec> children{
      {"tailer",
       [o = opts, t = tail](caf::event_based_actor* parent) {
         return caf::actor_cast<caf::actor>(spawn_tailer(parent, o, t));
       },
       restart_policy::permanent},
    };
    ingest = sys.spawn(supervisor, std::string{"ingest"}, supervisor_options{},
                       std::move(children));
    run_once_all();
  }

  tailer_actor tailer() {
    return sys.registry().get<tailer_actor>(names::tailer);
  }

  void wake() {
    self->send(tailer(), wake_atom_v);
    run_once_all();
  }

  // An expander here committed positions (after, through] with entries
  // at `at` (also in the log, as the database would have them).
  void expanded(int64_t after, int64_t through, std::vector<int64_t> at) {
    auto batch = std::make_shared<storage::log_batch>();
    batch->after = after;
    batch->through = through;
    for (auto p : at) {
      log->commit(p, "user:1");
      batch->entries.push_back(log->entries[p]);
    }
    log->head = std::max(log->head, through);
    self->send(tailer(), expanded_here{std::move(batch)});
    run_once_all();
  }

  // Runs every message now, without letting the clock move.
  void run_once_all() {
    while (consume_message()) {
    }
  }

  std::vector<storage::log_batch>& batches(size_t shard) {
    return deref<caf::stateful_actor<recorded_batches>>(shards[shard])
      .state.batches;
  }

  // (after, through) of every batch shard `i` was handed.
  std::vector<std::pair<int64_t, int64_t>> ranges(size_t shard) {
    std::vector<std::pair<int64_t, int64_t>> out;
    for (const auto& b : batches(shard))
      out.emplace_back(b.after, b.through);
    return out;
  }

  // Every entry position shard `i` was handed, in order.
  std::vector<int64_t> positions(size_t shard) {
    std::vector<int64_t> out;
    for (const auto& b : batches(shard))
      for (const auto& e : b.entries)
        out.push_back(e.position);
    return out;
  }
};

using ranges_t = std::vector<std::pair<int64_t, int64_t>>;
using positions_t = std::vector<int64_t>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(tailer_tests, fixture)

CAF_TEST(a first start begins at the log head and hands out what follows) {
  log->commit(3, "user:1");
  log->commit(5, "user:2");
  start();
  // What was there before the engine started is history, not live.
  CAF_CHECK_EQUAL(ranges(0), (ranges_t{{5, 5}}));
  CAF_CHECK_EQUAL(tail->dispatched.load(), 5);
  log->commit(6, "user:1");
  log->commit(8, "topic:2");
  wake();
  for (size_t i = 0; i < 2; ++i) {
    CAF_CHECK_EQUAL(ranges(i), (ranges_t{{5, 5}, {5, 8}}));
    CAF_CHECK_EQUAL(positions(i), (positions_t{6, 8}));
  }
  CAF_CHECK_EQUAL(tail->dispatched.load(), 8);
  // The same batch, read once, is shared by every shard.
  CAF_CHECK_EQUAL(log->reads, 2u);
}

CAF_TEST(a wake - up with nothing new hands out nothing) {
  start();
  wake();
  wake();
  CAF_CHECK_EQUAL(ranges(0), (ranges_t{{0, 0}}));
}

CAF_TEST(a long log goes out in batches without gaps and yields between) {
  start();
  for (int64_t p = 1; p <= 45; ++p)
    log->commit(p, "user:" + std::to_string(p % 3));
  self->send(tailer(), wake_atom_v);
  // The wake-up schedules a turn; the turn reads batches_per_turn batches,
  // then the tailer schedules itself another so that its mailbox
  // (inspections, shutdown) gets a turn.
  consume_message();
  consume_message();
  CAF_CHECK_EQUAL(tail->dispatched.load(), 20);
  auto tailer_actor = dynamic_cast<caf::scheduled_actor*>(
    caf::actor_cast<caf::abstract_actor*>(tailer()));
  CAF_REQUIRE(tailer_actor != nullptr);
  CAF_CHECK_EQUAL(tailer_actor->mailbox().size(), 1u);
  run_once_all();
  CAF_CHECK_EQUAL(
    ranges(0),
    (ranges_t{{0, 0}, {0, 10}, {10, 20}, {20, 30}, {30, 40}, {40, 45}}));
  positions_t all;
  for (int64_t p = 1; p <= 45; ++p)
    all.push_back(p);
  CAF_CHECK_EQUAL(positions(1), all);
}

CAF_TEST(wake ups that wait together share one read) {
  start();
  run_once_all();
  auto before = log->reads;
  log->commit(1, "user:1");
  log->commit(2, "user:2");
  // Three commits' wake-ups in the mailbox before the tailer gets to them:
  // one turn reads what all three announced.
  for (int i = 0; i < 3; ++i)
    self->send(tailer(), wake_atom_v);
  run_once_all();
  CAF_CHECK_EQUAL(log->reads - before, 1u);
  CAF_CHECK_EQUAL(positions(0), (positions_t{1, 2}));
  // A wake-up after that turn gets a turn of its own.
  log->commit(3, "user:1");
  self->send(tailer(), wake_atom_v);
  run_once_all();
  CAF_CHECK_EQUAL(log->reads - before, 2u);
  CAF_CHECK_EQUAL(positions(0), (positions_t{1, 2, 3}));
}

CAF_TEST(an expansion here that follows the cursor goes out without a read) {
  start();
  auto before = log->reads;
  expanded(0, 3, {1, 3});
  CAF_CHECK_EQUAL(log->reads, before);
  CAF_CHECK_EQUAL(tail->dispatched.load(), 3);
  for (size_t i = 0; i < 2; ++i) {
    CAF_CHECK_EQUAL(ranges(i), (ranges_t{{0, 0}, {0, 3}}));
    CAF_CHECK_EQUAL(positions(i), (positions_t{1, 3}));
  }
}

CAF_TEST(an expansion here past a gap is read with the gap) {
  start();
  // Position 1 is another engine's, not read yet.
  log->commit(1, "topic:2");
  auto before = log->reads;
  expanded(1, 2, {2});
  CAF_CHECK_EQUAL(log->reads - before, 1u);
  CAF_CHECK_EQUAL(ranges(0), (ranges_t{{0, 0}, {0, 2}}));
  CAF_CHECK_EQUAL(positions(0), (positions_t{1, 2}));
}

CAF_TEST(an expansion here that a read handed out already is dropped) {
  start();
  log->commit(1, "user:1");
  wake();
  auto before = log->reads;
  expanded(0, 1, {1});
  CAF_CHECK_EQUAL(log->reads, before);
  CAF_CHECK_EQUAL(ranges(0), (ranges_t{{0, 0}, {0, 1}}));
  CAF_CHECK_EQUAL(positions(0), (positions_t{1}));
}

CAF_TEST(a failed read is retried after the delay and nothing is skipped) {
  start();
  log->commit(1, "user:1");
  log->commit(2, "user:2");
  log->failing = true;
  wake();
  CAF_CHECK_EQUAL(ranges(0), (ranges_t{{0, 0}}));
  CAF_CHECK_EQUAL(tail->dispatched.load(), 0);
  // Still down at the first retry: one more is scheduled, not a storm.
  advance_time(opts.retry_delay);
  run_once_all();
  wake();
  CAF_CHECK_EQUAL(ranges(0), (ranges_t{{0, 0}}));
  log->failing = false;
  advance_time(opts.retry_delay);
  run_once_all();
  CAF_CHECK_EQUAL(ranges(0), (ranges_t{{0, 0}, {0, 2}}));
  CAF_CHECK_EQUAL(positions(0), (positions_t{1, 2}));
}

CAF_TEST(a restarted tailer goes on from the cursor) {
  start();
  log->commit(1, "user:1");
  wake();
  auto first = tailer();
  log->commit(2, "user:1");
  log->commit(3, "user:2");
  self->send_exit(first, caf::make_error(caf::sec::runtime_error));
  run_once_all();
  CAF_REQUIRE(tailer() != nullptr);
  CAF_CHECK_NOT_EQUAL(tailer(), first);
  // No second start at the head: positions 2 and 3 are not skipped.
  CAF_CHECK_EQUAL(ranges(0), (ranges_t{{0, 0}, {0, 1}, {1, 3}}));
  CAF_CHECK_EQUAL(positions(0), (positions_t{1, 2, 3}));
}

CAF_TEST_FIXTURE_SCOPE_END()
