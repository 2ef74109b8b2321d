#pragma once

#include "core/fifo.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

namespace herald::net {

/// What a streaming session has to write, oldest first, with its size in
/// bytes. Used on the session's strand only; bytes() may be read from any
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

  /// The front frame is written: forget it.
  void pop() {
    bytes_ -= frames_.front()->size();
    frames_.pop_front();
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

  size_t bytes() const { return bytes_; }

private:
  fifo<std::shared_ptr<const std::string>> frames_;
  std::atomic<size_t> bytes_{0};
};

} // namespace herald::net
