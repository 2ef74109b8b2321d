#include "storage/channel_store.hpp"

#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

#include <nlohmann/json.hpp>

namespace herald::storage {

namespace {

std::string interval(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " milliseconds";
}

std::vector<device> parse_devices(const std::string& json_text) {
  std::vector<device> out;
  for (const auto& d : nlohmann::json::parse(json_text))
    out.push_back(
      {d.at("id").get<int64_t>(), d.at("token").get<std::string>()});
  return out;
}

} // namespace

struct channel_store::impl {
  explicit impl(std::string url) : conn(std::move(url)) {}

  detail::lazy_connection conn;

  // Every call here is one statement (most of them a function that
  // does its own writes), so none needs a transaction block of its own.
  // The senders poll every second with nothing due: BEGIN and COMMIT
  // around the claim and the digests' release were four of their six
  // round trips.
  template <class F>
  auto run(const char* what, F&& fn) {
    return conn.one_statement(what, std::forward<F>(fn));
  }

  template <class... Args>
  bool changed(const char* what, const char* sql, const Args&... args) {
    return run(what, [&](pqxx::nontransaction& tx) {
      auto rows = tx.exec_params(sql, args...);
      return !rows.empty() && !rows[0][0].is_null();
    });
  }
};

channel_store::channel_store(std::string database_url)
  : impl_(std::make_unique<impl>(std::move(database_url))) {}

channel_store::~channel_store() = default;

std::vector<claimed_delivery>
channel_store::claim(const std::string& channel, size_t limit,
                     std::chrono::milliseconds lease) {
  return impl_->run("cannot claim deliveries", [&](pqxx::nontransaction& tx) {
    auto rows = tx.exec_params(
      "SELECT delivery_id, message_id, app_id, app_name, attempts, phone,"
      "       devices::text, coalesce(content, 'null')::text, vars::text,"
      "       priority"
      "  FROM herald.claim_channel_deliveries($1, $2, $3::interval)",
      channel, static_cast<int64_t>(limit), interval(lease));
    std::vector<claimed_delivery> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      claimed_delivery d;
      d.id = row[0].as<int64_t>();
      d.message_id = row[1].as<int64_t>();
      d.app_id = row[2].as<int64_t>();
      d.app = row[3].as<std::string>();
      d.attempts = row[4].as<int>();
      if (!row[5].is_null())
        d.phone = row[5].as<std::string>();
      d.devices = parse_devices(row[6].as<std::string>());
      d.content_json = row[7].as<std::string>();
      d.vars_json = row[8].as<std::string>();
      d.priority = row[9].as<std::string>();
      out.push_back(std::move(d));
    }
    return out;
  });
}

std::map<int64_t, provider_config>
channel_store::providers(const std::string& channel) {
  return impl_->run("cannot read providers", [&](pqxx::nontransaction& tx) {
    auto rows = tx.exec_params(
      "SELECT app_id, kind, url, coalesce(auth_header, ''),"
      "       coalesce(body_shape::text, ''), rate_per_second::float8,"
      "       max_attempts, timeout_ms"
      "  FROM herald.providers WHERE channel = $1",
      channel);
    std::map<int64_t, provider_config> out;
    for (const auto& row : rows) {
      provider_config p;
      p.app_id = row[0].as<int64_t>();
      p.channel = channel;
      p.kind = row[1].as<std::string>();
      p.url = row[2].as<std::string>();
      p.auth_header = row[3].as<std::string>();
      p.body_shape_json = row[4].as<std::string>();
      p.rate_per_second = row[5].as<double>();
      p.max_attempts = row[6].as<int>();
      p.timeout = std::chrono::milliseconds{row[7].as<int>()};
      out.emplace(p.app_id, std::move(p));
    }
    return out;
  });
}

bool channel_store::mark_sent(int64_t delivery_id) {
  return impl_->changed("cannot record a sent delivery",
                        "SELECT herald.channel_sent($1)", delivery_id);
}

bool channel_store::retry_later(int64_t delivery_id,
                                std::chrono::milliseconds delay,
                                const std::string& error) {
  return impl_->changed("cannot schedule a retry",
                        "SELECT herald.channel_retry($1, $2::interval, $3)",
                        delivery_id, interval(delay), error);
}

bool channel_store::give_up(int64_t delivery_id, const std::string& state,
                            const std::string& code, const std::string& error) {
  return impl_->changed("cannot record a failed delivery",
                        "SELECT herald.channel_give_up($1, $2, $3, $4)",
                        delivery_id, state, code, error);
}

int channel_store::release_digests(const std::string& channel) {
  return impl_->run("cannot release digests", [&](pqxx::nontransaction& tx) {
    return tx.exec_params("SELECT herald.release_digests($1)", channel)[0][0]
      .as<int>();
  });
}

void channel_store::unregister_device(int64_t device_id) {
  impl_->run("cannot unregister a device", [&](pqxx::nontransaction& tx) {
    tx.exec_params("DELETE FROM herald.devices WHERE id = $1", device_id);
    return 0;
  });
}

} // namespace herald::storage
