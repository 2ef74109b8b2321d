#define CAF_SUITE net.frame_queue

#include "net/stream/frame_queue.hpp"

#include <caf/test/unit_test.hpp>

#include <string>

using namespace herald::net;

namespace {

void fill(frame_queue& q, std::initializer_list<const char*> frames) {
  for (auto f : frames)
    q.push(f);
}

} // namespace

CAF_TEST(frames leave in order and the byte count follows) {
  frame_queue q;
  fill(q, {"a", "bb", "ccc"});
  CAF_CHECK_EQUAL(q.size(), 3u);
  CAF_CHECK_EQUAL(q.bytes(), 6u);
  CAF_CHECK_EQUAL(q.front(), "a");
  q.pop();
  CAF_CHECK_EQUAL(q.front(), "bb");
  CAF_CHECK_EQUAL(q.bytes(), 5u);
}

CAF_TEST(joining puts the waiting frames on lines of one frame) {
  frame_queue q;
  fill(q, {R"({"seq":1})", R"({"seq":2})", R"({"seq":3})"});
  q.join_front(128, 1024);
  CAF_CHECK_EQUAL(q.size(), 1u);
  CAF_CHECK_EQUAL(q.front(), "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}");
  CAF_CHECK_EQUAL(q.bytes(), q.front().size());
}

CAF_TEST(joining stops at the frame and byte limits) {
  frame_queue q;
  fill(q, {"aaaa", "bbbb", "cccc", "dddd"});
  q.join_front(2, 1024);
  CAF_CHECK_EQUAL(q.front(), "aaaa\nbbbb");
  CAF_CHECK_EQUAL(q.size(), 3u);
  // 9 bytes: "cccc\ndddd" fits exactly, one more byte would not.
  frame_queue r;
  fill(r, {"cccc", "dddd", "eeee"});
  r.join_front(128, 9);
  CAF_CHECK_EQUAL(r.front(), "cccc\ndddd");
  CAF_CHECK_EQUAL(r.size(), 2u);
  CAF_CHECK_EQUAL(r.bytes(), 9u + 4u);
}

CAF_TEST(a frame bigger than the byte limit goes alone) {
  std::string big(100, 'x');
  frame_queue q;
  q.push(big);
  q.push("small");
  q.join_front(128, 50);
  CAF_CHECK_EQUAL(q.size(), 2u);
  CAF_CHECK_EQUAL(q.front(), big);
  frame_queue single;
  single.push("only");
  single.join_front(128, 1024);
  CAF_CHECK_EQUAL(single.front(), "only");
}

CAF_TEST(dropping keeps the frame being written) {
  frame_queue q;
  fill(q, {"writing", "waiting", "waiting too"});
  q.drop_waiting(true);
  CAF_CHECK_EQUAL(q.size(), 1u);
  CAF_CHECK_EQUAL(q.front(), "writing");
  CAF_CHECK_EQUAL(q.bytes(), 7u);
  q.drop_waiting(false);
  CAF_CHECK(q.empty());
  CAF_CHECK_EQUAL(q.bytes(), 0u);
}
