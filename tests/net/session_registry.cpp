#define CAF_SUITE net.session_registry

#include "net/detail/session_registry.hpp"

#include <caf/test/unit_test.hpp>

#include <memory>
#include <vector>

using herald::net::detail::closable;
using herald::net::detail::session_registry;

namespace {

/// Remembers what the registry asked of it.
struct recorder : closable {
  void close() override { ++closed; }
  void revoke() override { ++revoked; }
  int closed = 0;
  int revoked = 0;
};

} // namespace

CAF_TEST(a rotated secret revokes its apps sessions and no others) {
  session_registry registry;
  auto a1 = std::make_shared<recorder>();
  auto a2 = std::make_shared<recorder>();
  auto b = std::make_shared<recorder>();
  auto plain = std::make_shared<recorder>(); // an HTTP connection: no app
  registry.add(a1, 1);
  registry.add(a2, 1);
  registry.add(b, 2);
  registry.add(plain);
  CAF_CHECK_EQUAL(registry.revoke({1, 3}), 2u);
  CAF_CHECK_EQUAL(a1->revoked, 1);
  CAF_CHECK_EQUAL(a2->revoked, 1);
  CAF_CHECK_EQUAL(b->revoked, 0);
  CAF_CHECK_EQUAL(plain->revoked, 0);
  CAF_CHECK_EQUAL(registry.revoke({0}), 0u); // 0 names no app
  CAF_CHECK_EQUAL(plain->revoked, 0);
  CAF_CHECK_EQUAL(a1->closed + a2->closed + b->closed + plain->closed, 0);
}

CAF_TEST(shutdown closes every live session and skips the gone) {
  session_registry registry;
  auto kept = std::make_shared<recorder>();
  auto plain = std::make_shared<recorder>();
  auto gone = std::make_shared<recorder>();
  registry.add(kept, 7);
  registry.add(plain);
  auto gone_id = registry.add(gone, 7);
  gone.reset(); // destroyed before it could remove itself
  CAF_CHECK_EQUAL(registry.size(), 3u);
  registry.close_all();
  CAF_CHECK_EQUAL(kept->closed, 1);
  CAF_CHECK_EQUAL(plain->closed, 1);
  CAF_CHECK_EQUAL(registry.revoke({7}), 1u);
  registry.remove(gone_id);
  CAF_CHECK_EQUAL(registry.size(), 2u);
}
