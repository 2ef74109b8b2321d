#include "net/stream/deadline_wheel.hpp"

#include "net/stream/keepalive_clock.hpp"

#include <utility>

namespace herald::net {

deadline_wheel&
deadline_wheel::here(const detail::connection_executor& executor) {
  // One io_context per I/O thread, run by that thread alone: the thread's
  // wheel is its io_context's.
  thread_local std::unique_ptr<deadline_wheel> wheel;
  if (!wheel)
    wheel = std::make_unique<deadline_wheel>(executor);
  return *wheel;
}

deadline_wheel::deadline_wheel(const detail::connection_executor& executor)
  : timer_(executor) {}

deadline_wheel::clock::time_point
deadline_wheel::schedule(std::weak_ptr<owner> who, clock::time_point at) {
  auto due = keepalive_deadline(at);
  due_[due].push_back(std::move(who));
  if (due < armed_for_)
    arm();
  return due;
}

void deadline_wheel::arm() {
  if (due_.empty())
    return;
  auto first = due_.begin()->first;
  if (first >= armed_for_)
    return;
  armed_for_ = first;
  timer_.expires_at(first); // cancels the wait for a later second
  timer_.async_wait([this](detail::beast::error_code ec) {
    if (!ec)
      on_tick();
  });
}

void deadline_wheel::on_tick() {
  armed_for_ = clock::time_point::max();
  // What is due now: deadlines the owners set while they are called wait
  // for the next tick, even when they are due already.
  auto now = clock::now();
  std::vector<decltype(due_)::node_type> ready;
  while (!due_.empty() && due_.begin()->first <= now)
    ready.push_back(due_.extract(due_.begin()));
  for (auto& second : ready)
    for (auto& who : second.mapped())
      if (auto alive = who.lock())
        alive->on_deadline(second.key());
  arm();
}

} // namespace herald::net
