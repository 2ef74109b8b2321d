#include "storage/readiness_probe.hpp"

#include "storage/detail/migrations_check.hpp"
#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

namespace herald::storage {

struct readiness_probe::impl {
  impl(std::string url, std::vector<migration> all)
    : conn(std::move(url)), migrations(std::move(all)) {}

  detail::lazy_connection conn;
  std::vector<migration> migrations;
};

readiness_probe::readiness_probe(std::string database_url,
                                 std::vector<migration> migrations)
  : impl_(
      std::make_unique<impl>(std::move(database_url), std::move(migrations))) {}

readiness_probe::~readiness_probe() = default;

readiness_probe::result readiness_probe::check() {
  try {
    auto reason = detail::pending_reason(impl_->conn.get(), impl_->migrations);
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
