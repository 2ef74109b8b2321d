#include "storage/inbox_store.hpp"

#include "storage/detail/pg.hpp"
#include "storage/detail/pg_array.hpp"
#include "storage/error.hpp"

#include <nlohmann/json.hpp>

namespace herald::storage {

namespace {

constexpr const char* feed_sql = R"sql(
  SELECT position, message_id, template_code, title, body, vars, created_at,
         silent
    FROM herald.feed($1, $2, $3, $4)
)sql";

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
  explicit impl(std::string url) : conn(std::move(url)) {}

  detail::lazy_connection conn;
  uint64_t prepared_on = 0; ///< the connection generation prepared on

  // Every user coming online costs a load and a feed read: prepared once
  // per connection, they are planned once instead of on every call (the
  // feed's plan is most of its cost).
  template <class F>
  auto run(const char* what, F&& fn) {
    return conn.transact(what, [&](pqxx::work& tx) {
      if (prepared_on != conn.generation()) { // a new connection
        auto& c = tx.conn();
        c.prepare("herald_user_state",
                  "SELECT herald.user_state($1, $2)::text");
        c.prepare("herald_feed", feed_sql);
        prepared_on = conn.generation();
      }
      return fn(tx);
    });
  }
};

inbox_store::inbox_store(std::string database_url)
  : impl_(std::make_unique<impl>(std::move(database_url))) {}

inbox_store::~inbox_store() = default;

std::optional<inbox_user> inbox_store::load_user(int64_t app_id,
                                                 const std::string& external) {
  return impl_->run("cannot load the user", [&](pqxx::work& tx) {
    auto rows = tx.exec_params("SELECT herald.user_state($1, $2)::text", app_id,
                               external);
    std::optional<inbox_user> user;
    if (!rows.empty() && !rows[0][0].is_null())
      user = to_user(rows[0][0].as<std::string>());
    return user;
  });
}

std::vector<delivery> inbox_store::load_feed(int64_t user_id, int64_t after,
                                             int64_t through, size_t limit) {
  return impl_->run("cannot load the feed", [&](pqxx::work& tx) {
    std::vector<delivery> out;
    auto rows = tx.exec_prepared("herald_feed", user_id, after, through,
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
      d.silent = row[7].as<bool>();
      out.push_back(std::move(d));
    }
    return out;
  });
}

void inbox_store::record_cursors(const std::vector<cursor_update>& updates) {
  if (updates.empty())
    return;
  std::vector<std::optional<std::string>> users, sent, acked;
  for (const auto& u : updates) {
    users.emplace_back(std::to_string(u.user_id));
    sent.emplace_back(std::to_string(u.sent));
    acked.emplace_back(std::to_string(u.acked));
  }
  impl_->run("cannot record cursors", [&](pqxx::work& tx) {
    tx.exec("SET LOCAL synchronous_commit = off");
    tx.exec_params("SELECT herald.record_cursors($1::bigint[], $2::bigint[],"
                   " $3::bigint[])",
                   detail::to_array_literal(users),
                   detail::to_array_literal(sent),
                   detail::to_array_literal(acked));
    return 0;
  });
}

std::vector<cap_count> inbox_store::load_cap_counts(int64_t user_id,
                                                    int64_t through) {
  return impl_->run("cannot count for the hourly cap", [&](pqxx::work& tx) {
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
