#define CAF_SUITE core.handoff_scope

#include "core/handoff_scope.hpp"

#include <caf/test/unit_test.hpp>

#include <thread>

using herald::handoff_scope;

namespace {

int flushes = 0;
int other_flushes = 0;

void count_flush() {
  ++flushes;
}

void count_other_flush() {
  ++other_flushes;
}

} // namespace

CAF_TEST(without a scope a deferred call is made at once) {
  flushes = 0;
  CAF_CHECK(!handoff_scope::open());
  handoff_scope::defer(&count_flush);
  CAF_CHECK_EQUAL(flushes, 1);
  handoff_scope::defer(&count_flush);
  CAF_CHECK_EQUAL(flushes, 2);
}

CAF_TEST(
  a call deferred in nested scopes is made once when the outermost ends) {
  flushes = 0;
  other_flushes = 0;
  {
    handoff_scope outer;
    handoff_scope::defer(&count_flush);
    {
      handoff_scope inner;
      CAF_CHECK(handoff_scope::open());
      handoff_scope::defer(&count_flush);
      handoff_scope::defer(&count_other_flush);
    }
    // The inner scope's end is not the batch's.
    CAF_CHECK_EQUAL(flushes, 0);
    CAF_CHECK_EQUAL(other_flushes, 0);
    handoff_scope::defer(&count_flush);
  }
  CAF_CHECK(!handoff_scope::open());
  CAF_CHECK_EQUAL(flushes, 1);
  CAF_CHECK_EQUAL(other_flushes, 1);
  // The next scope starts empty.
  { handoff_scope again; }
  CAF_CHECK_EQUAL(flushes, 1);
}

CAF_TEST(a scope is open on the calling thread only) {
  flushes = 0;
  handoff_scope here;
  bool open_there = true;
  std::thread there{[&] {
    open_there = handoff_scope::open();
    handoff_scope::defer(&count_flush); // no scope there: made at once
  }};
  there.join();
  CAF_CHECK(!open_there);
  CAF_CHECK_EQUAL(flushes, 1);
}
