#pragma once

// Internal to net/: handlers whose operations Asio allocates at their own
// size.

#include <cstddef>
#include <memory>
#include <utility>

namespace herald::net::detail {

/// std::allocator under a name of its own: Asio takes it as the handler's
/// allocator, where std::allocator would send it to its per-thread cache.
template <class T>
struct exact_allocator {
  using value_type = T;

  exact_allocator() = default;
  template <class U>
  exact_allocator(const exact_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    std::allocator<T>{}.deallocate(p, n);
  }

  friend bool operator==(const exact_allocator&, const exact_allocator&) {
    return true;
  }
  friend bool operator!=(const exact_allocator&, const exact_allocator&) {
    return false;
  }
};

/// `Handler`, with its operation allocated at the operation's own size.
/// Asio's per-thread cache hands a new operation the block of one that
/// finished before it on the thread: a WebSocket's pending read, started
/// after the connection's accept, held the accept's 300-byte block for as
/// long as the connection stayed idle.
template <class Handler>
class exactly_allocated {
public:
  using allocator_type = exact_allocator<void>;

  explicit exactly_allocated(Handler handler) : handler_(std::move(handler)) {}

  allocator_type get_allocator() const noexcept { return {}; }

  template <class... Args>
  void operator()(Args&&... args) {
    handler_(std::forward<Args>(args)...);
  }

private:
  Handler handler_;
};

} // namespace herald::net::detail
