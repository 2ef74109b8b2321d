#include "net/stream/stream_context.hpp"

#include <atomic>

namespace herald::net {

uint64_t next_session_id() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

} // namespace herald::net
