#include "storage/detail/pg.hpp"

#include "storage/error.hpp"

namespace herald::storage::detail {

std::string with_parameter(const std::string& url, const std::string& key,
                           const std::string& value) {
  if (url.find(key + "=") != std::string::npos)
    return url;
  bool is_uri =
    url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (!is_uri)
    return url + (url.empty() ? "" : " ") + key + "=" + value;
  auto separator = url.find('?') == std::string::npos ? '?' : '&';
  return url + separator + key + "=" + value;
}

std::string with_connect_timeout(const std::string& url, int seconds) {
  return with_parameter(url, "connect_timeout", std::to_string(seconds));
}

void lazy_connection::discard_plans() {
  // Prepared statements stay; their plans, and those of the functions
  // they call, are made again at their next use.
  pqxx::nontransaction{*conn_}.exec("DISCARD PLANS");
  replan_after_ = std::min<std::chrono::steady_clock::duration>(
    2 * replan_after_, std::chrono::minutes{1});
  replan_at_ = std::chrono::steady_clock::now() + replan_after_;
}

std::unique_ptr<pqxx::connection> open(const std::string& url) {
  try {
    auto conn =
      std::make_unique<pqxx::connection>(with_connect_timeout(url, 3));
    // Every query here is short. Where the estimates are off (a table not
    // analyzed yet, such as a fresh log_head), JIT compiled each read of
    // the log for 0.6 s to run it for 6 ms.
    conn->set_variable("jit", "off");
    return conn;
  } catch (...) {
    rethrow_as_storage_error("cannot connect to the database");
  }
}

void rethrow_as_storage_error(const std::string& context) {
  auto prefixed = [&](const std::string& what) {
    return context.empty() ? what : context + ": " + what;
  };
  try {
    throw;
  } catch (const storage::error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw storage::error(errc::unreachable, prefixed(e.what()));
  } catch (const pqxx::sql_error& e) {
    throw storage::error(errc::query_failed, prefixed(e.what()));
  } catch (const std::exception& e) {
    throw storage::error(errc::query_failed, prefixed(e.what()));
  }
}

} // namespace herald::storage::detail
