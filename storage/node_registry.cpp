#include "storage/node_registry.hpp"

#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdio>

namespace herald::storage {

struct node_registry::impl {
  impl(std::string url, node_info who)
    : conn(std::move(url)), self(std::move(who)) {}

  detail::lazy_connection conn;
  node_info self;
};

node_registry::node_registry(std::string database_url, node_info self)
  : impl_(std::make_unique<impl>(std::move(database_url), std::move(self))) {}

node_registry::~node_registry() = default;

void node_registry::heartbeat() {
  const auto& n = impl_->self;
  try {
    // One statement, committed on its own: one round trip a heartbeat,
    // not three.
    pqxx::nontransaction tx{impl_->conn.get()};
    tx.exec_params(
      "INSERT INTO herald.nodes (id, hostname, pid, version, listen)"
      " VALUES ($1, $2, $3, $4, $5)"
      " ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
      n.id, n.hostname, n.pid, n.version, n.listen);
  } catch (...) {
    impl_->conn.reset();
    detail::rethrow_as_storage_error("node heartbeat failed");
  }
}

void node_registry::unregister() noexcept {
  // Only over a live connection: a shutdown must not wait for a connect
  // timeout when the database is down.
  if (!impl_->conn.is_open())
    return;
  try {
    pqxx::nontransaction tx{impl_->conn.get()};
    tx.exec_params("DELETE FROM herald.nodes WHERE id = $1", impl_->self.id);
  } catch (...) {
    // The row goes stale instead; its heartbeat shows that it is.
  }
}

const node_info& node_registry::self() const {
  return impl_->self;
}

std::string random_uuid() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
    throw std::runtime_error("random_uuid: RAND_bytes failed");
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof(text),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                "%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
                b[10], b[11], b[12], b[13], b[14], b[15]);
  return text;
}

} // namespace herald::storage
