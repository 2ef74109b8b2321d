#define CAF_SUITE actors.stream_index

#include "actors/stream/stream_index.hpp"

#include <caf/test/dsl.hpp>

using namespace herald;
using namespace herald::actors;

namespace {

storage::log_entry entry(int64_t position, std::vector<std::string> streams) {
  auto m = std::make_shared<storage::message_content>();
  auto web = std::make_shared<web_content>();
  web->id = position;
  m->web = std::move(web);
  return {position, std::move(streams), m};
}

// A user as the shard holds it: a reader of streams.
struct user : stream_reader {};

// The positions `reader` got in `out` (empty when it got nothing).
std::vector<int64_t> positions(const std::vector<stream_index::fanned>& out,
                               const user& reader) {
  std::vector<int64_t> result;
  for (const auto& f : out)
    if (f.reader == &reader)
      for (const auto& i : f.items.items)
        result.push_back(i.position);
  return result;
}

} // namespace

CAF_TEST(each subscriber gets its entries once in position order) {
  stream_index index;
  user ada, bob;
  index.subscribe(ada, {"user:1", "store:3", "merchant:2"});
  index.subscribe(bob, {"user:2", "store:3"});
  auto out =
    index.fan_out({entry(1, {"merchant:2", "store:3"}), entry(2, {"user:2"}),
                   entry(3, {"topic:9"}), entry(4, {"user:1"})},
                  0);
  CAF_CHECK_EQUAL(positions(out, ada), (std::vector<int64_t>{1, 4}));
  CAF_CHECK_EQUAL(positions(out, bob), (std::vector<int64_t>{1, 2}));
  CAF_CHECK_EQUAL(out.size(), 2u);
}

CAF_TEST(entries at or before the live start are skipped) {
  stream_index index;
  user ada;
  index.subscribe(ada, {"app:1"});
  auto out = index.fan_out({entry(4, {"app:1"}), entry(5, {"app:1"})}, 4);
  CAF_CHECK_EQUAL(positions(out, ada), (std::vector<int64_t>{5}));
}

CAF_TEST(subscribing again replaces the streams and leaving empties them) {
  stream_index index;
  user ada;
  index.subscribe(ada, {"store:3", "store:3", "user:1"});
  CAF_CHECK_EQUAL(index.subscribers("store:3"), 1u);
  CAF_CHECK_EQUAL(index.streams_of(ada),
                  (std::vector<std::string>{"user:1", "store:3"}));
  index.subscribe(ada, {"user:1"});
  CAF_CHECK_EQUAL(index.subscribers("store:3"), 0u);
  CAF_CHECK_EQUAL(index.streams(), 1u);
  index.unsubscribe(ada);
  CAF_CHECK_EQUAL(index.streams(), 0u);
  CAF_CHECK(index.streams_of(ada).empty());
  CAF_CHECK(index.fan_out({entry(1, {"user:1"})}, 0).empty());
}

CAF_TEST(streams are told apart by kind and id whatever their shape) {
  // Names are numbered: user:7 and store:7 are different streams, and a
  // name that is not <kind>:<id> still works.
  stream_index index;
  user ada, bob;
  index.subscribe(ada, {"user:7", "topic:news", "app:1"});
  index.subscribe(bob, {"store:7", "user:07", "user:"});
  auto out = index.fan_out({entry(1, {"store:7"}), entry(2, {"user:7"}),
                            entry(3, {"topic:news"}), entry(4, {"user:07"}),
                            entry(5, {"user:"}), entry(6, {"topic:other"}),
                            entry(7, {"user:72057594037927936"})},
                           0);
  CAF_CHECK_EQUAL(positions(out, ada), (std::vector<int64_t>{2, 3}));
  CAF_CHECK_EQUAL(positions(out, bob), (std::vector<int64_t>{1, 4, 5}));
  CAF_CHECK_EQUAL(index.streams_of(ada),
                  (std::vector<std::string>{"user:7", "app:1", "topic:news"}));
  CAF_CHECK_EQUAL(index.subscribers("user:7"), 1u);
  CAF_CHECK_EQUAL(index.subscribers("store:7"), 1u);
  CAF_CHECK_EQUAL(index.subscribers("merchant:7"), 0u);
}

CAF_TEST(each batch places its users afresh) {
  stream_index index;
  user ada, bob;
  index.subscribe(ada, {"store:3"});
  index.subscribe(bob, {"store:3", "user:2"});
  auto first = index.fan_out({entry(1, {"user:2"}), entry(2, {"store:3"})}, 0);
  CAF_REQUIRE_EQUAL(first.size(), 2u);
  CAF_CHECK(first[0].reader == &bob); // in the order they first appear
  CAF_CHECK_EQUAL(positions(first, bob), (std::vector<int64_t>{1, 2}));
  CAF_CHECK_EQUAL(positions(first, ada), (std::vector<int64_t>{2}));
  auto second = index.fan_out({entry(3, {"store:3"})}, 2);
  CAF_CHECK_EQUAL(second.size(), 2u);
  CAF_CHECK_EQUAL(positions(second, ada), (std::vector<int64_t>{3}));
  CAF_CHECK_EQUAL(positions(second, bob), (std::vector<int64_t>{3}));
}

CAF_TEST(batches fanned out together give each reader one share in order) {
  stream_index index;
  user ada, bob;
  index.subscribe(ada, {"store:3", "user:1"});
  index.subscribe(bob, {"user:2"});
  auto batch = [](int64_t after, int64_t through,
                  std::vector<storage::log_entry> entries) {
    return std::make_shared<const storage::log_batch>(
      storage::log_batch{after, through, std::move(entries)});
  };
  // The second batch overlaps the first (an entry at 2 again) and the
  // third starts before the live start: what the first ones covered, and
  // what the shard had live already, is not given twice.
  auto out = index.fan_out(
    {batch(0, 2, {entry(1, {"store:3"}), entry(2, {"user:2", "store:3"})}),
     batch(1, 4,
           {entry(2, {"store:3"}), entry(3, {"user:1"}), entry(4, {"user:2"})}),
     batch(4, 5, {entry(5, {"store:3", "user:1"})})},
    1);
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK(out[0].reader == &bob); // each reader once, first seen first
  CAF_CHECK_EQUAL(positions(out, ada), (std::vector<int64_t>{2, 3, 5}));
  CAF_CHECK_EQUAL(positions(out, bob), (std::vector<int64_t>{2, 4}));
}
