#include "storage/inbox_store.hpp"

#include "storage/detail/pg.hpp"
#include "storage/detail/pg_array.hpp"
#include "storage/detail/web_row.hpp"
#include "storage/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>

namespace herald::storage {

namespace {

// Users come online in crowds (a deploy, a reconnect storm): one
// statement loads a whole batch of them, and one reads a batch of feeds.
constexpr const char* users_sql = R"sql(
  SELECT x.i, herald.user_state(x.app, x.ext)::text
    FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS x(app, ext, i)
)sql";

// Each range's rows end with one without a message: how far the range is
// complete (schema/0016).
constexpr const char* feeds_sql = R"sql(
  SELECT x.i, f.position, f.message_id, f.template_code, f.title, f.body,
         f.vars, f.created_at, f.silent
    FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[],
                $5::bigint[])
         WITH ORDINALITY AS x(u, after, through, lim, max_bytes, i)
    CROSS JOIN LATERAL herald.feed_read(x.u, x.after, x.through, x.lim,
                                        x.max_bytes) f
   ORDER BY x.i, f.position
)sql";

template <class T, class F>
std::string array_of(const std::vector<T>& items, F&& field) {
  std::vector<std::optional<std::string>> out;
  out.reserve(items.size());
  for (const auto& item : items)
    out.emplace_back(field(item));
  return detail::to_array_literal(out);
}

// "HH:MM" to minutes after midnight; -1 for none.
int minutes_of(const nlohmann::json& value) {
  if (!value.is_string())
    return -1;
  auto text = value.get<std::string>();
  if (text.size() < 5)
    return -1;
  return std::stoi(text.substr(0, 2)) * 60 + std::stoi(text.substr(3, 2));
}

inbox_user to_user(const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text);
  inbox_user user;
  user.id = j.at("id").get<int64_t>();
  user.sent = j.at("sent").get<int64_t>();
  user.acked = j.at("acked").get<int64_t>();
  user.newest = j.at("newest").get<int64_t>();
  user.utc_offset_seconds = j.at("utc_offset").get<int>();
  for (const auto& s : j.at("streams"))
    user.streams.push_back(
      {s.at(0).get<std::string>(), s.at(1).get<int64_t>()});
  for (const auto& p : j.at("preferences")) {
    web_preference pref;
    pref.message_type = p.at("type").get<std::string>();
    pref.channel = p.at("channel").get<std::string>();
    pref.enabled = p.at("enabled").get<bool>();
    pref.quiet_start = minutes_of(p.at("quiet_start"));
    pref.quiet_end = minutes_of(p.at("quiet_end"));
    if (p.at("hourly_cap").is_number())
      pref.hourly_cap = p.at("hourly_cap").get<int>();
    user.preferences.push_back(std::move(pref));
  }
  return user;
}

} // namespace

struct inbox_store::impl {
  // Every user coming online costs a load and a feed read: prepared once
  // per connection, they are planned once instead of on every call. Left
  // to choose, PostgreSQL kept planning the feed read anew for each call
  // (inlining herald.feed parses its text every time): 1.3 ms of planning
  // for 2.4 ms of reading 256 messages. The generic plan is the one it
  // chose for every call anyway, since each stream is read through the
  // log's primary key (schema/0012).
  explicit impl(std::string url)
    : conn(detail::lazy_connection::planned_once_by_key(std::move(url))) {}

  detail::lazy_connection conn;
  uint64_t prepared_on = 0; ///< the connection generation prepared on

  void prepare(pqxx::connection_base& c) {
    if (prepared_on == conn.generation())
      return;
    c.prepare("herald_user_states", users_sql);
    c.prepare("herald_feeds", feeds_sql);
    prepared_on = conn.generation();
  }

  template <class F>
  auto run(const char* what, F&& fn) {
    return conn.transact(what, [&](pqxx::work& tx) {
      prepare(tx.conn());
      return fn(tx);
    });
  }

  // One statement that only reads: no BEGIN and COMMIT around it.
  template <class F>
  auto read(const char* what, F&& fn) {
    return conn.one_statement(what, [&](pqxx::nontransaction& tx) {
      prepare(tx.conn());
      return fn(tx);
    });
  }
};

inbox_store::inbox_store(std::string database_url)
  : impl_(std::make_unique<impl>(std::move(database_url))) {}

inbox_store::~inbox_store() = default;

std::vector<inbox_user>
inbox_store::load_users(const std::vector<user_ref>& users) {
  std::vector<inbox_user> out(users.size());
  if (users.empty())
    return out;
  auto apps =
    array_of(users, [](const user_ref& u) { return std::to_string(u.app_id); });
  auto externals =
    array_of(users, [](const user_ref& u) { return u.external_id; });
  impl_->read("cannot load users", [&](pqxx::nontransaction& tx) {
    for (const auto& row :
         tx.exec_prepared("herald_user_states", apps, externals))
      if (!row[1].is_null())
        out.at(row[0].as<size_t>() - 1) = to_user(row[1].as<std::string>());
    return 0;
  });
  return out;
}

std::vector<feed_read>
inbox_store::load_feeds(const std::vector<feed_range>& ranges) {
  std::vector<feed_read> out(ranges.size());
  if (ranges.empty())
    return out;
  // Each range's last row says how far it is complete; until then, nothing
  // past its start is known.
  for (size_t i = 0; i < ranges.size(); ++i)
    out[i].complete_through = ranges[i].after;
  auto text = [](int64_t n) {
    return std::to_string(n);
  };
  auto users =
    array_of(ranges, [&](const feed_range& r) { return text(r.user_id); });
  auto after =
    array_of(ranges, [&](const feed_range& r) { return text(r.after); });
  auto through =
    array_of(ranges, [&](const feed_range& r) { return text(r.through); });
  auto limits = array_of(ranges, [](const feed_range& r) {
    return std::to_string(std::min<size_t>(r.limit, INT32_MAX));
  });
  auto max_bytes = array_of(ranges, [](const feed_range& r) {
    return std::to_string(std::min<size_t>(r.max_bytes, INT64_MAX));
  });
  impl_->read("cannot load feeds", [&](pqxx::nontransaction& tx) {
    for (const auto& row : tx.exec_prepared("herald_feeds", users, after,
                                            through, limits, max_bytes)) {
      auto& read = out.at(row[0].as<size_t>() - 1);
      if (row[2].is_null()) {
        read.complete_through = row[1].as<int64_t>();
        continue;
      }
      delivery d;
      d.seq = row[1].as<int64_t>();
      d.silent = row[8].as<bool>();
      d.content = detail::sealed_web(row, 2);
      read.deliveries.push_back(std::move(d));
    }
    return 0;
  });
  return out;
}

void inbox_store::record_cursors(const std::vector<cursor_update>& updates) {
  if (updates.empty())
    return;
  auto text = [](int64_t n) {
    return std::to_string(n);
  };
  auto users =
    array_of(updates, [&](const cursor_update& u) { return text(u.user_id); });
  auto sent =
    array_of(updates, [&](const cursor_update& u) { return text(u.sent); });
  auto acked =
    array_of(updates, [&](const cursor_update& u) { return text(u.acked); });
  impl_->run("cannot record cursors", [&](pqxx::work& tx) {
    tx.exec("SET LOCAL synchronous_commit = off");
    tx.exec_params("SELECT herald.record_cursors($1::bigint[], $2::bigint[],"
                   " $3::bigint[])",
                   users, sent, acked);
    return 0;
  });
}

std::vector<cap_count> inbox_store::load_cap_counts(int64_t user_id,
                                                    int64_t through) {
  return impl_->read(
    "cannot count for the hourly cap", [&](pqxx::nontransaction& tx) {
      auto row = tx.exec_params1("SELECT herald.web_cap_counts($1, $2)::text",
                                 user_id, through);
      std::vector<cap_count> out;
      for (const auto& c : nlohmann::json::parse(row[0].as<std::string>()))
        out.push_back({c.at(0).get<std::string>(), c.at(1).get<int64_t>(),
                       c.at(2).get<int64_t>()});
      return out;
    });
}

bool inbox_store::mark_read(int64_t user_id, int64_t message_id) {
  return impl_->run("cannot mark the message read", [&](pqxx::work& tx) {
    auto rows =
      tx.exec_params("SELECT herald.mark_read($1, $2)", user_id, message_id);
    return !rows.empty() && !rows[0][0].is_null();
  });
}

} // namespace herald::storage
