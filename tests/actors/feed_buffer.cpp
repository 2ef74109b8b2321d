#define CAF_SUITE actors.feed_buffer

#include "actors/user/feed_buffer.hpp"

#include <caf/test/dsl.hpp>

using namespace herald;
using namespace herald::actors;

namespace {

delivery at(int64_t seq, std::string body = "") {
  auto content = std::make_shared<web_content>();
  content->id = seq + 100;
  content->members_before_seq = std::move(body);
  return delivery{seq, false, std::move(content)};
}

std::vector<int64_t> seqs(const std::vector<delivery>& ds) {
  std::vector<int64_t> out;
  for (const auto& d : ds)
    out.push_back(d.seq);
  return out;
}

} // namespace

CAF_TEST(live messages after the live start are complete) {
  feed_buffer feed;
  feed.start_live(10);
  feed.add_live(at(12));
  feed.add_live(at(20));
  auto next = feed.after(10, 10);
  CAF_CHECK_EQUAL(seqs(next.items), (std::vector<int64_t>{12, 20}));
  CAF_CHECK(!next.fetch);
  CAF_CHECK(feed.after(20, 10).items.empty());
}

CAF_TEST(what lies before the live start is fetched up to it) {
  feed_buffer feed;
  feed.start_live(10);
  feed.add_live(at(12));
  auto next = feed.after(3, 10);
  CAF_CHECK(next.items.empty());
  CAF_REQUIRE(next.fetch);
  CAF_CHECK_EQUAL(next.fetch->first, 3);
  CAF_CHECK_EQUAL(next.fetch->second, 10);
  feed.add_range(3, 10, {at(5), at(9)});
  next = feed.after(3, 10);
  CAF_CHECK_EQUAL(seqs(next.items), (std::vector<int64_t>{5, 9, 12}));
  CAF_CHECK(!next.fetch);
}

CAF_TEST(a partial read leaves the rest to fetch) {
  feed_buffer feed;
  feed.start_live(100);
  // A full batch: complete only up to its last message (40).
  feed.add_range(0, 40, {at(10), at(40)});
  auto next = feed.after(0, 10);
  CAF_CHECK_EQUAL(seqs(next.items), (std::vector<int64_t>{10, 40}));
  CAF_REQUIRE(next.fetch);
  CAF_CHECK_EQUAL(next.fetch->first, 40);
  CAF_CHECK_EQUAL(next.fetch->second, 100);
}

CAF_TEST(a read ahead that returns first leaves the gap before it) {
  feed_buffer feed;
  feed.start_live(1000);
  // Two reads side by side; the later one returns first.
  feed.add_range(300, 600, {at(350), at(400), at(600)});
  auto next = feed.after(0, 10);
  CAF_CHECK(next.items.empty());
  CAF_REQUIRE(next.fetch);
  CAF_CHECK_EQUAL(next.fetch->second, 300);
  auto bytes_before = feed.bytes();
  feed.add_range(0, 300, {at(10, "abc"), at(20), at(300)});
  CAF_CHECK_EQUAL(feed.bytes(), bytes_before + at(10, "abc").content->weight() +
                                  2 * at(20).content->weight());
  next = feed.after(0, 10);
  CAF_CHECK_EQUAL(seqs(next.items),
                  (std::vector<int64_t>{10, 20, 300, 350, 400, 600}));
  // What follows the later read is still to be read.
  CAF_REQUIRE(next.fetch);
  CAF_CHECK_EQUAL(next.fetch->first, 600);
}

CAF_TEST(a read over what is held keeps one of each message) {
  feed_buffer feed;
  feed.start_live(1000);
  feed.add_range(0, 500, {at(100), at(300)});
  auto bytes_before = feed.bytes();
  // Read again across it (a range known only in part after a trim), with
  // a message in between that was not there before.
  feed.add_range(50, 400, {at(100), at(200), at(300)});
  CAF_CHECK_EQUAL(seqs(feed.after(0, 10).items),
                  (std::vector<int64_t>{100, 200, 300}));
  CAF_CHECK_EQUAL(feed.bytes(), bytes_before + at(200).content->weight());
}

CAF_TEST(a session catching up learns what to read ahead) {
  feed_buffer feed;
  feed.start_live(1000);
  feed.add_range(0, 40, {at(10), at(20), at(30), at(40)});
  using gap = std::optional<std::pair<int64_t, int64_t>>;
  // The next two after 10 are held: nothing to read yet.
  CAF_CHECK(feed.gap_ahead(10, 2) == gap{});
  // Four ahead of 10 runs past what was read: read on up to the live start.
  CAF_CHECK(feed.gap_ahead(10, 4) == gap(std::make_pair(40, 1000)));
  // Once that is read, the live range covers the rest.
  feed.add_range(40, 1000, {at(500)});
  CAF_CHECK(feed.gap_ahead(10, 100) == gap{});
}

CAF_TEST(at most max messages come back) {
  feed_buffer feed;
  feed.start_live(0);
  for (int64_t s = 1; s <= 5; ++s)
    feed.add_live(at(s * 2));
  CAF_CHECK_EQUAL(seqs(feed.after(0, 2).items), (std::vector<int64_t>{2, 4}));
  CAF_CHECK_EQUAL(seqs(feed.after(4, 2).items), (std::vector<int64_t>{6, 8}));
}

CAF_TEST(trimming forgets completeness below what remains) {
  feed_buffer feed;
  feed.start_live(0);
  for (int64_t s = 1; s <= 6; ++s)
    feed.add_live(at(s));
  feed.trim(3, 1 << 20);
  CAF_CHECK_EQUAL(feed.size(), 3u);
  // 4, 5, 6 are held; before 3 the buffer no longer knows.
  CAF_CHECK_EQUAL(seqs(feed.after(3, 10).items),
                  (std::vector<int64_t>{4, 5, 6}));
  auto next = feed.after(0, 10);
  CAF_CHECK(next.items.empty());
  CAF_REQUIRE(next.fetch);
  CAF_CHECK_EQUAL(next.fetch->second, 3);
}

CAF_TEST(trimming keeps the text held under its byte budget) {
  feed_buffer feed;
  feed.start_live(0);
  for (int64_t s = 1; s <= 4; ++s) {
    feed.add_live(at(s, std::string(1000, 'x')));
  }
  CAF_CHECK(feed.bytes() >= 4000u);
  feed.trim(100, 2500);
  CAF_CHECK_EQUAL(feed.size(), 2u);
  CAF_CHECK(feed.bytes() <= 2500u);
  CAF_CHECK_EQUAL(seqs(feed.after(2, 10).items), (std::vector<int64_t>{3, 4}));
}

CAF_TEST(truncation makes everything after a position unknown) {
  feed_buffer feed;
  feed.start_live(0);
  feed.add_live(at(1));
  feed.add_live(at(5));
  feed.truncate_after(3);
  CAF_CHECK(!feed.live());
  CAF_CHECK_EQUAL(seqs(feed.after(0, 10).items), (std::vector<int64_t>{1}));
  feed.start_live(8);
  auto next = feed.after(1, 10);
  CAF_REQUIRE(next.fetch);
  CAF_CHECK_EQUAL(next.fetch->first, 3);
  CAF_CHECK_EQUAL(next.fetch->second, 8);
}
