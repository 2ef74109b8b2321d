#include "storage/readiness_probe.hpp"

#include "storage/detail/migrations_check.hpp"
#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

namespace herald::storage {

struct readiness_probe::impl {
  std::string url;
  std::vector<migration> migrations;
  std::unique_ptr<pqxx::connection> conn;
};

readiness_probe::readiness_probe(std::string database_url,
                                 std::vector<migration> migrations)
  : impl_(std::make_unique<impl>()) {
  impl_->url = std::move(database_url);
  impl_->migrations = std::move(migrations);
}

readiness_probe::~readiness_probe() = default;

readiness_probe::result readiness_probe::check() {
  try {
    if (!impl_->conn || !impl_->conn->is_open())
      impl_->conn = detail::open(impl_->url);
    auto reason = detail::pending_reason(*impl_->conn, impl_->migrations);
    if (!reason.empty())
      return {false, reason};
    return {true, "ok"};
  } catch (const error& e) {
    // Whatever failed, the next check starts from a fresh connection: a
    // server restart can surface as an SQL error on the old one.
    impl_->conn.reset();
    auto prefix = e.code() == errc::unreachable ? "database unreachable: "
                                                : "database check failed: ";
    return {false, prefix + std::string{e.what()}};
  }
}

} // namespace herald::storage
