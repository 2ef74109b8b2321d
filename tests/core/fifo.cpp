#define CAF_SUITE core.fifo

#include "core/fifo.hpp"

#include <caf/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace herald;

namespace {

std::vector<int> contents(const fifo<int>& q) {
  return {q.begin(), q.end()};
}

} // namespace

CAF_TEST(elements leave in the order they came) {
  fifo<int> q;
  CAF_CHECK(q.empty());
  for (int i = 1; i <= 5; ++i)
    q.push_back(i);
  CAF_CHECK_EQUAL(q.size(), 5u);
  CAF_CHECK_EQUAL(q.front(), 1);
  CAF_CHECK_EQUAL(q.back(), 5);
  q.pop_front();
  q.pop_front();
  CAF_CHECK_EQUAL(q.front(), 3);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{3, 4, 5}));
  q.push_back(6);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{3, 4, 5, 6}));
}

CAF_TEST(a long run of pushes and pops keeps order across compactions) {
  fifo<int> q;
  int next_in = 0;
  int next_out = 0;
  // Keeps 0..99 elements queued while a thousand pass through, so that
  // the popped prefix is reclaimed many times while elements are queued.
  for (int round = 0; round < 1000; ++round) {
    q.push_back(next_in++);
    if (round % 3 != 0 || q.size() > 99) {
      CAF_REQUIRE_EQUAL(q.front(), next_out);
      q.pop_front();
      ++next_out;
    }
  }
  while (!q.empty()) {
    CAF_REQUIRE_EQUAL(q.front(), next_out);
    q.pop_front();
    ++next_out;
  }
  CAF_CHECK_EQUAL(next_out, next_in);
}

CAF_TEST(elements can be changed where they stand) {
  fifo<int> q;
  for (int i = 0; i < 4; ++i)
    q.push_back(i);
  q.pop_front();
  for (auto& x : q)
    x *= 10;
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{10, 20, 30}));
}

CAF_TEST(truncating after the front keeps only the front) {
  fifo<int> q;
  q.truncate_after_front(); // nothing to keep: no effect
  CAF_CHECK(q.empty());
  for (int i = 0; i < 4; ++i)
    q.push_back(i);
  q.pop_front();
  q.truncate_after_front();
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{1}));
  q.push_back(7);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{1, 7}));
}

CAF_TEST(a popped element is released at once) {
  fifo<std::shared_ptr<std::string>> q;
  auto first = std::make_shared<std::string>("first");
  std::weak_ptr<std::string> watch = first;
  q.push_back(std::move(first));
  q.push_back(std::make_shared<std::string>("second"));
  q.pop_front();
  CAF_CHECK(watch.expired());
  CAF_CHECK_EQUAL(*q.front(), "second");
}

CAF_TEST(clear empties the queue for reuse) {
  fifo<int> q;
  for (int i = 0; i < 100; ++i)
    q.push_back(i);
  q.clear();
  CAF_CHECK(q.empty());
  CAF_CHECK_EQUAL(q.size(), 0u);
  q.push_back(42);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{42}));
}

CAF_TEST(only a drained queue gives its memory back) {
  fifo<int> q;
  q.push_back(1);
  q.push_back(2);
  q.release_if_empty();
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{1, 2}));
  q.pop_front();
  q.pop_front();
  q.release_if_empty();
  CAF_CHECK(q.empty());
  q.push_back(3);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{3}));
}

CAF_TEST(a queue moved from is empty and usable) {
  fifo<int> q;
  for (int i = 0; i < 40; ++i)
    q.push_back(i);
  for (int i = 0; i < 35; ++i)
    q.pop_front();
  fifo<int> moved{std::move(q)};
  CAF_CHECK_EQUAL(contents(moved), (std::vector<int>{35, 36, 37, 38, 39}));
  CAF_CHECK(q.empty());
  q.push_back(1);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{1}));
  fifo<int> assigned;
  assigned = std::move(moved);
  CAF_CHECK_EQUAL(assigned.size(), 5u);
  CAF_CHECK(moved.empty());
}

CAF_TEST(insertion in the middle and erasure to the end keep the order) {
  fifo<int> q;
  for (int i : {0, 1, 2, 4, 5})
    q.push_back(i);
  q.pop_front();
  q.insert(q.begin() + 2, 3);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{1, 2, 3, 4, 5}));
  q.erase_from(q.begin() + 3);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{1, 2, 3}));
  q.erase_from(q.begin());
  CAF_CHECK(q.empty());
  q.push_back(9);
  CAF_CHECK_EQUAL(contents(q), (std::vector<int>{9}));
}
