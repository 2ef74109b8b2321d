#include "storage/channel_expansion.hpp"

#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

namespace herald::storage {

namespace {

constexpr const char* pending_sql = R"sql(
  SELECT EXISTS (SELECT 1 FROM herald.outbox WHERE channel_state = 'pending')
)sql";

} // namespace

struct channel_expansion::impl {
  explicit impl(std::string url) : conn(std::move(url)) {}
  detail::lazy_connection conn;
};

channel_expansion::channel_expansion(std::string database_url)
  : impl_(std::make_unique<impl>(std::move(database_url))) {}

channel_expansion::~channel_expansion() = default;

size_t channel_expansion::expand_batch(size_t limit) {
  // Every engine's channel step wakes with every commit to the log, and
  // most messages have no sms or mobile text: one read outside a
  // transaction says there is nothing to do, where the call in its
  // transaction took three round trips (BEGIN, the call, COMMIT).
  auto pending = impl_->conn.one_statement(
    "cannot look for sms and mobile work", [](pqxx::nontransaction& tx) {
      return tx.exec1(pending_sql)[0].as<bool>();
    });
  if (!pending)
    return 0;
  return impl_->conn.transact(
    "cannot expand sms and mobile deliveries", [&](pqxx::work& tx) {
      auto row = tx.exec_params1("SELECT herald.expand_channel_deliveries($1)",
                                 static_cast<int64_t>(limit));
      return static_cast<size_t>(row[0].as<int64_t>());
    });
}

} // namespace herald::storage
