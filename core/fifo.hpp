#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace herald {

/// A first-in, first-out queue on one vector, for the per-connection and
/// per-user queues that are empty most of the time. std::deque allocates a
/// map and a 512-byte block as soon as it is constructed: three of them
/// per connected user were 1.7 KB of an idle connection's memory. This
/// holds nothing until the first push, and gives its memory back when it
/// drains after holding many.
template <class T>
class fifo {
public:
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  fifo() = default;
  fifo(const fifo&) = default;
  fifo& operator=(const fifo&) = default;
  /// A queue moved from is empty.
  fifo(fifo&& other) noexcept
    : items_(std::move(other.items_)), head_(std::exchange(other.head_, 0)) {
    other.items_.clear();
  }
  fifo& operator=(fifo&& other) noexcept {
    items_ = std::move(other.items_);
    head_ = std::exchange(other.head_, 0);
    other.items_.clear();
    return *this;
  }

  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }

  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }

  iterator begin() { return items_.begin() + head_; }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin() + head_; }
  const_iterator end() const { return items_.end(); }

  void push_back(T item) { items_.push_back(std::move(item)); }

  /// Inserts before `at` (an iterator of this queue); elements after it
  /// move, so this is for the rare insertion in the middle.
  iterator insert(iterator at, T item) {
    return items_.insert(at, std::move(item));
  }

  /// Inserts [first, last) before `at`: the elements after it move once,
  /// whatever the number inserted.
  template <class It>
  iterator insert(iterator at, It first, It last) {
    return items_.insert(at, first, last);
  }

  /// Drops the elements from `first` to the end.
  void erase_from(iterator first) {
    if (first == begin())
      clear();
    else
      items_.erase(first, items_.end());
  }

  void pop_front() {
    items_[head_] = T{}; // what it owns goes now, not at the next compaction
    if (++head_ == items_.size())
      clear();
    else if (head_ >= compact_at && head_ * 2 >= items_.size())
      compact();
  }

  /// Drops everything after the front element.
  void truncate_after_front() {
    if (!empty())
      items_.resize(head_ + 1);
  }

  /// Drops the `count` elements that follow the front one.
  void erase_after_front(size_t count) {
    auto first = begin() + 1;
    items_.erase(first, first + static_cast<std::ptrdiff_t>(count));
  }

  /// An empty queue gives all of its memory back.
  void release_if_empty() {
    if (!empty())
      return;
    std::vector<T>{}.swap(items_);
    head_ = 0;
  }

  /// Empties the queue; a queue that held many gives its memory back.
  void clear() {
    if (items_.capacity() > kept_capacity)
      std::vector<T>{}.swap(items_);
    else
      items_.clear();
    head_ = 0;
  }

private:
  /// Popped slots are reclaimed once there are this many and they are at
  /// least half of the vector: each element moves O(1) times on average.
  static constexpr size_t compact_at = 32;
  /// A drained queue keeps room for this many: a session that gets a frame
  /// at a time does not allocate per frame.
  static constexpr size_t kept_capacity = 16;

  void compact() {
    items_.erase(items_.begin(), items_.begin() + head_);
    head_ = 0;
  }

  std::vector<T> items_;
  size_t head_ = 0;
};

} // namespace herald
