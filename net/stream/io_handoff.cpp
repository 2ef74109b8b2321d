#include "net/stream/io_handoff.hpp"

#include "core/handoff_scope.hpp"

#include <boost/asio/post.hpp>

#include <utility>
#include <vector>

namespace herald::net {

namespace asio = detail::asio;

namespace {

struct turns_for {
  detail::connection_executor executor;
  std::vector<io_turn> turns;
};

/// The turns handed over within the calling thread's open scope, per I/O
/// thread (two or so: a linear search).
thread_local std::vector<turns_for> gathered;

void post_turns(const detail::connection_executor& executor,
                std::vector<io_turn> turns) {
  asio::post(executor, [turns = std::move(turns)] {
    for (const auto& t : turns)
      t.write(t.session.get());
  });
}

void flush_gathered() {
  auto batches = std::exchange(gathered, {});
  for (auto& b : batches)
    post_turns(b.executor, std::move(b.turns));
}

} // namespace

void hand_to_io(const detail::connection_executor& executor, io_turn turn) {
  if (!handoff_scope::open()) {
    asio::post(executor,
               [turn = std::move(turn)] { turn.write(turn.session.get()); });
    return;
  }
  for (auto& b : gathered)
    if (b.executor == executor) {
      b.turns.push_back(std::move(turn));
      return;
    }
  if (gathered.empty())
    handoff_scope::defer(&flush_gathered);
  gathered.push_back({executor, {}});
  gathered.back().turns.push_back(std::move(turn));
}

} // namespace herald::net
