#include "net/stream/arrivals.hpp"

#include <iterator>
#include <thread>
#include <utility>

namespace herald::net {

namespace {

// A waiter yields: the holder only moves a vector or appends to one.
class spin_guard {
public:
  explicit spin_guard(std::atomic_flag& flag) : flag_(flag) {
    while (flag_.test_and_set(std::memory_order_acquire))
      std::this_thread::yield();
  }
  ~spin_guard() { flag_.clear(std::memory_order_release); }
  spin_guard(const spin_guard&) = delete;
  spin_guard& operator=(const spin_guard&) = delete;

private:
  std::atomic_flag& flag_;
};

} // namespace

bool arrivals::add(std::vector<delivery> batch) {
  spin_guard locked{lock_};
  if (items_.empty())
    items_ = std::move(batch);
  else
    items_.insert(items_.end(), std::make_move_iterator(batch.begin()),
                  std::make_move_iterator(batch.end()));
  return !std::exchange(take_posted_, true);
}

std::vector<delivery> arrivals::take() {
  std::vector<delivery> out;
  spin_guard locked{lock_};
  out.swap(items_);
  take_posted_ = false;
  return out;
}

} // namespace herald::net
