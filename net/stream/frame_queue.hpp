#pragma once

#include "core/fifo.hpp"

#include <atomic>
#include <cstddef>
#include <iterator>
#include <memory>
#include <string>

namespace herald::net {

/// What a streaming session has to write, oldest first, with its size in
/// bytes. Used on the session's I/O thread only; bytes() may be read from any
/// thread (the debug tool asks). The front frame is the one being written
/// while a write is in flight: its buffer must outlive the write.
class frame_queue {
public:
  void push(std::string frame) {
    bytes_ += frame.size();
    frames_.push_back(std::make_shared<const std::string>(std::move(frame)));
  }

  bool empty() const { return frames_.empty(); }

  const std::string& front() const { return *frames_.front(); }

  /// The `i`th frame from the front.
  const std::string& at(size_t i) const { return *frames_.begin()[i]; }

  /// Joins the frames at the front into one, one per line, as many as fit
  /// in `max_frames` and `max_bytes` (one alone may be bigger): a client
  /// that reads lines takes them from one WebSocket message, written in
  /// one go. Only while the front frame is not being written.
  void join_front(size_t max_frames, size_t max_bytes) {
    if (frames_.empty())
      return;
    size_t count = 1;
    size_t size = frames_.front()->size();
    auto end = std::next(frames_.begin());
    for (; end != frames_.end() && count < max_frames &&
           size + 1 + (*end)->size() <= max_bytes;
         ++end, ++count)
      size += 1 + (*end)->size();
    if (count == 1)
      return;
    std::string joined;
    joined.reserve(size);
    for (auto it = frames_.begin(); it != end; ++it) {
      if (it != frames_.begin())
        joined += '\n';
      joined += **it;
    }
    frames_.front() = std::make_shared<const std::string>(std::move(joined));
    frames_.erase_after_front(count - 1);
    bytes_ += count - 1; // the newlines
  }

  size_t size() const { return frames_.size(); }

  /// The front frame is written: forget it.
  void pop() {
    bytes_ -= frames_.front()->size();
    frames_.pop_front();
  }

  /// The `count` frames at the front are written.
  void pop(size_t count) {
    for (size_t i = 0; i < count; ++i)
      pop();
  }

  /// Drops every frame not yet being written; with `writing`, the front one
  /// stays until its write completes.
  void drop_waiting(bool writing) {
    if (writing)
      frames_.truncate_after_front();
    else
      frames_.clear();
    bytes_ = frames_.empty() ? 0 : frames_.front()->size();
  }

  /// A drained queue gives its memory back: for a writer that queues
  /// only now and then.
  void release_if_empty() { frames_.release_if_empty(); }

  /// Drops every frame (a queue whose writer copies what it writes).
  void clear() { drop_waiting(false); }

  size_t bytes() const { return bytes_; }

private:
  fifo<std::shared_ptr<const std::string>> frames_;
  std::atomic<size_t> bytes_{0};
};

} // namespace herald::net
