#define CAF_SUITE actors.feed_reads

#include "actors/user/feed_reads.hpp"

#include <caf/test/dsl.hpp>

using namespace herald::actors;

namespace {

using range = feed_reads::range;
using ranges = std::vector<range>;

} // namespace

CAF_TEST(the first read goes to the end of its range) {
  feed_reads reads;
  CAF_CHECK_EQUAL(reads.plan(0, 1000), (ranges{{0, 1000}}));
  CAF_CHECK_EQUAL(reads.in_flight(), 1u);
  // Asked again meanwhile: it is being read.
  CAF_CHECK(reads.plan(0, 1000).empty());
  CAF_CHECK(reads.plan(500, 1000).empty());
}

CAF_TEST(a read stopped by its budget says how far the next ones go) {
  feed_reads reads;
  reads.plan(0, 10000);
  // 256 messages took 300 positions (other users' messages between).
  reads.done({0, 10000}, 300, 256, 256);
  CAF_CHECK(!reads.any());
  CAF_CHECK_EQUAL(reads.span(), 300);
  // Two reads of that span side by side.
  CAF_CHECK_EQUAL(reads.plan(300, 10000), (ranges{{300, 600}, {600, 900}}));
  CAF_CHECK(reads.plan(300, 10000).empty());
  // The first back: the next goes on past the second.
  reads.done({300, 600}, 600, 256, 256);
  CAF_CHECK_EQUAL(reads.plan(600, 10000), (ranges{{900, 1200}}));
  // Near the end, the last read ends where the range does.
  reads.done({600, 900}, 900, 256, 256);
  reads.done({900, 1200}, 1200, 256, 256);
  CAF_CHECK_EQUAL(reads.plan(1200, 1400), (ranges{{1200, 1400}}));
}

CAF_TEST(a denser stretch leaves a gap that is read up to the next read) {
  feed_reads reads;
  reads.plan(0, 10000);
  reads.done({0, 10000}, 300, 256, 256);
  reads.plan(300, 10000); // (300, 600] and (600, 900]
  // The first filled its budget at 450: (450, 600] is not known.
  reads.done({300, 600}, 450, 256, 256);
  CAF_CHECK_EQUAL(reads.span(), 150);
  // The gap is read up to where the read in flight begins, no further.
  CAF_CHECK_EQUAL(reads.plan(450, 10000), (ranges{{450, 600}}));
}

CAF_TEST(a sparser stretch widens the span) {
  feed_reads reads;
  reads.plan(0, 100000);
  reads.done({0, 100000}, 300, 256, 256);
  reads.plan(300, 100000); // (300, 600] and (600, 900]
  reads.done({300, 600}, 600, 20, 256);
  CAF_CHECK_EQUAL(reads.span(), 600);
  CAF_CHECK_EQUAL(reads.plan(600, 100000), (ranges{{900, 1500}}));
  // A read that used half its budget or more keeps the span.
  reads.done({600, 900}, 900, 200, 256);
  CAF_CHECK_EQUAL(reads.span(), 600);
}

CAF_TEST(a failed read is no longer in flight and is planned again) {
  feed_reads reads;
  reads.plan(0, 1000);
  reads.failed({0, 1000});
  CAF_CHECK(!reads.any());
  CAF_CHECK_EQUAL(reads.plan(0, 1000), (ranges{{0, 1000}}));
}

CAF_TEST(one read at a time when no more may be in flight) {
  feed_reads reads{1};
  reads.plan(0, 10000);
  reads.done({0, 10000}, 300, 256, 256);
  CAF_CHECK_EQUAL(reads.plan(300, 10000), (ranges{{300, 600}}));
  CAF_CHECK(reads.plan(600, 10000).empty());
}
