#define CAF_SUITE core.bounded_log

#include "core/bounded_log.hpp"

#include <caf/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace herald;

namespace {

template <class T, size_t N>
std::vector<T> contents(const bounded_log<T, N>& log) {
  std::vector<T> out;
  log.for_each([&](const T& item) { out.push_back(item); });
  return out;
}

} // namespace

CAF_TEST(an empty log holds nothing and calls nothing) {
  bounded_log<int, 4> log;
  CAF_CHECK(log.empty());
  CAF_CHECK_EQUAL(log.size(), 0u);
  CAF_CHECK(contents(log).empty());
}

CAF_TEST(below its capacity it keeps everything in order) {
  bounded_log<int, 4> log;
  log.push(1);
  log.push(2);
  log.push(3);
  CAF_CHECK_EQUAL(log.size(), 3u);
  CAF_CHECK_EQUAL(contents(log), (std::vector<int>{1, 2, 3}));
}

CAF_TEST(once full each push drops the oldest) {
  bounded_log<int, 4> log;
  for (int i = 1; i <= 4; ++i)
    log.push(i);
  CAF_CHECK_EQUAL(contents(log), (std::vector<int>{1, 2, 3, 4}));
  log.push(5);
  CAF_CHECK_EQUAL(contents(log), (std::vector<int>{2, 3, 4, 5}));
  // Around the ring more than once: always the last four, oldest first.
  for (int i = 6; i <= 23; ++i) {
    log.push(i);
    CAF_CHECK_EQUAL(contents(log), (std::vector<int>{i - 3, i - 2, i - 1, i}));
    CAF_CHECK_EQUAL(log.size(), 4u);
  }
}

CAF_TEST(appending a newer log keeps the last items of both) {
  bounded_log<int, 4> older;
  older.push(1);
  older.push(2);
  bounded_log<int, 4> newer;
  newer.push(3);
  older.append(newer);
  CAF_CHECK_EQUAL(contents(older), (std::vector<int>{1, 2, 3}));
  bounded_log<int, 4> full;
  for (int i = 4; i <= 9; ++i)
    full.push(i); // wrapped: holds 6..9
  older.append(full);
  CAF_CHECK_EQUAL(contents(older), (std::vector<int>{6, 7, 8, 9}));
}

CAF_TEST(a moved log leaves an empty one that works) {
  bounded_log<std::string, 3> log;
  for (const char* s : {"a", "b", "c", "d"})
    log.push(s);
  auto taken = std::move(log);
  CAF_CHECK_EQUAL(contents(taken), (std::vector<std::string>{"b", "c", "d"}));
  CAF_CHECK(log.empty());
  log.push("e");
  CAF_CHECK_EQUAL(contents(log), (std::vector<std::string>{"e"}));
  bounded_log<std::string, 3> assigned;
  assigned.push("x");
  assigned = std::move(taken);
  CAF_CHECK_EQUAL(contents(assigned),
                  (std::vector<std::string>{"b", "c", "d"}));
  CAF_CHECK(taken.empty());
}

CAF_TEST(an overwritten item is released at once) {
  bounded_log<std::shared_ptr<int>, 2> log;
  auto first = std::make_shared<int>(1);
  log.push(first);
  log.push(std::make_shared<int>(2));
  CAF_CHECK_EQUAL(first.use_count(), 2);
  log.push(std::make_shared<int>(3));
  CAF_CHECK_EQUAL(first.use_count(), 1);
}
