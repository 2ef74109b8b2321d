#include "storage/inbox_store.hpp"

#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

namespace herald::storage {

namespace {

constexpr const char* load_after_sql = R"sql(
  SELECT d.seq, o.id, o.template_code, coalesce(o.rendered->'web'->>'title', ''),
         coalesce(o.rendered->'web'->>'body', ''), o.vars::text,
         to_char(o.created_at AT TIME ZONE 'UTC',
                 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    FROM herald.deliveries d
    JOIN herald.outbox o ON o.id = d.message_id
   WHERE d.user_id = $1 AND d.seq > $2
   ORDER BY d.seq
   LIMIT $3
)sql";

} // namespace

struct inbox_store::impl {
  explicit impl(std::string url) : conn(std::move(url)) {}

  detail::lazy_connection conn;

  template <class F>
  auto run(const char* what, F&& fn) {
    return conn.transact(what, std::forward<F>(fn));
  }
};

inbox_store::inbox_store(std::string database_url)
  : impl_(std::make_unique<impl>(std::move(database_url))) {}

inbox_store::~inbox_store() = default;

std::optional<inbox_user> inbox_store::find_user(int64_t app_id,
                                                 const std::string& external) {
  return impl_->run("cannot look up the user", [&](pqxx::work& tx) {
    auto rows = tx.exec_params("SELECT id, last_seq FROM herald.users"
                               " WHERE app_id = $1 AND external_id = $2",
                               app_id, external);
    std::optional<inbox_user> user;
    if (!rows.empty())
      user = inbox_user{rows[0][0].as<int64_t>(), rows[0][1].as<int64_t>()};
    return user;
  });
}

std::vector<delivery> inbox_store::load_after(int64_t user_id, int64_t after,
                                              size_t limit) {
  return impl_->run("cannot load deliveries", [&](pqxx::work& tx) {
    std::vector<delivery> out;
    auto rows = tx.exec_params(load_after_sql, user_id, after,
                               static_cast<int64_t>(limit));
    out.reserve(rows.size());
    for (const auto& row : rows) {
      delivery d;
      d.seq = row[0].as<int64_t>();
      d.message_id = row[1].as<int64_t>();
      d.template_code = row[2].as<std::string>();
      d.title = row[3].as<std::string>();
      d.body = row[4].as<std::string>();
      d.data_json = row[5].as<std::string>();
      d.created_at = row[6].as<std::string>();
      out.push_back(std::move(d));
    }
    return out;
  });
}

void inbox_store::record_progress(int64_t user_id, int64_t sent_seq,
                                  int64_t acked_seq) {
  impl_->run("cannot record delivery progress", [&](pqxx::work& tx) {
    // Progress lost in a crash only means a resend, which clients dedup:
    // no need to wait for the WAL flush. Every user actor flushes every
    // 200 ms, so these commits would otherwise queue on fsync.
    tx.exec("SET LOCAL synchronous_commit = off");
    if (sent_seq > 0)
      tx.exec_params("UPDATE herald.deliveries SET state = 'sent',"
                     " sent_at = now() WHERE user_id = $1 AND seq <= $2"
                     " AND state = 'pending'",
                     user_id, sent_seq);
    if (acked_seq > 0)
      tx.exec_params("UPDATE herald.deliveries SET state = 'acked',"
                     " acked_at = now(), sent_at = coalesce(sent_at, now())"
                     " WHERE user_id = $1 AND seq <= $2"
                     " AND state IN ('pending', 'sent')",
                     user_id, acked_seq);
    return 0;
  });
}

bool inbox_store::mark_read(int64_t user_id, int64_t message_id) {
  return impl_->run("cannot mark the message read", [&](pqxx::work& tx) {
    auto rows = tx.exec_params(
      "UPDATE herald.deliveries SET state = 'read',"
      " read_at = coalesce(read_at, now()),"
      " acked_at = coalesce(acked_at, now()),"
      " sent_at = coalesce(sent_at, now())"
      " WHERE user_id = $1 AND message_id = $2 AND channel = 'web'"
      " AND state <> 'suppressed' RETURNING 1",
      user_id, message_id);
    return !rows.empty();
  });
}

} // namespace herald::storage
