#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace herald {

/// The last `Capacity` items pushed, oldest first: a ring that fills once
/// and then overwrites its oldest item in place. For records kept only to
/// be looked at now and then (a user's pushes, for traces), written once
/// per event on a hot path: a push costs one store, with no compaction
/// that moves the whole log and no room kept beyond `Capacity`. Holds
/// nothing until the first push.
template <class T, size_t Capacity>
class bounded_log {
  static_assert(Capacity > 0);

public:
  static constexpr size_t capacity = Capacity;

  bounded_log() = default;
  bounded_log(const bounded_log&) = default;
  bounded_log& operator=(const bounded_log&) = default;
  /// A log moved from is empty.
  bounded_log(bounded_log&& other) noexcept
    : items_(std::move(other.items_)),
      oldest_(std::exchange(other.oldest_, 0)) {
    other.items_.clear();
  }
  bounded_log& operator=(bounded_log&& other) noexcept {
    items_ = std::move(other.items_);
    oldest_ = std::exchange(other.oldest_, 0);
    other.items_.clear();
    return *this;
  }

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }

  void push(T item) {
    if (items_.size() < Capacity) {
      // Grows by doubling up to the capacity, then never again.
      if (items_.size() == items_.capacity())
        items_.reserve(std::min(Capacity, 2 * items_.size() + 1));
      items_.push_back(std::move(item));
      return;
    }
    items_[oldest_] = std::move(item);
    if (++oldest_ == Capacity)
      oldest_ = 0;
  }

  /// Pushes every item of `newer`, oldest first: the two logs as one, of
  /// which the last `Capacity` items stay.
  void append(const bounded_log& newer) {
    newer.for_each([this](const T& item) { push(item); });
  }

  /// Calls `f` with every item, oldest first.
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = oldest_; i < items_.size(); ++i)
      f(items_[i]);
    for (size_t i = 0; i < oldest_; ++i)
      f(items_[i]);
  }

private:
  std::vector<T> items_;
  /// Where the oldest item is once the log is full (and the next push
  /// goes); 0 until then.
  size_t oldest_ = 0;
};

} // namespace herald
