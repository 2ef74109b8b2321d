#include "net/stream/write_pacer.hpp"

#include <memory>
#include <utility>

namespace herald::net {

write_pacer& write_pacer::here(const detail::connection_executor& executor) {
  // One io_context per I/O thread, run by that thread alone (as the
  // deadline wheel's).
  thread_local std::unique_ptr<write_pacer> pacer;
  if (!pacer)
    pacer = std::make_unique<write_pacer>(executor);
  return *pacer;
}

write_pacer::write_pacer(const detail::connection_executor& executor)
  : timer_(executor) {}

void write_pacer::hold(io_turn turn,
                       std::chrono::steady_clock::duration delay) {
  held_.push_back(std::move(turn));
  if (armed_)
    return;
  armed_ = true;
  timer_.expires_after(delay);
  timer_.async_wait([this](detail::beast::error_code ec) {
    if (!ec)
      on_tick();
  });
}

void write_pacer::on_tick() {
  armed_ = false;
  // A session held again while it writes waits for the next tick.
  auto due = std::exchange(held_, {});
  for (const auto& t : due)
    t.write(t.session.get());
}

} // namespace herald::net
