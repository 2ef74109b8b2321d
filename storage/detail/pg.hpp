#pragma once

// Internal to storage/: the only header that brings pqxx in. Code above
// storage/ includes the pqxx-free headers next to this folder.

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace herald::storage::detail {

/// `url` with `key=value` added unless it already sets `key` (URI or
/// key=value form). Values must not need quoting or escaping.
std::string with_parameter(const std::string& url, const std::string& key,
                           const std::string& value);

/// `url` with a connect timeout added unless it already names one, so that
/// an unreachable host fails in seconds instead of hanging.
std::string with_connect_timeout(const std::string& url, int seconds);

/// Opens a connection, turning connection failures into storage::error.
std::unique_ptr<pqxx::connection> open(const std::string& url);

/// A connection opened on first use and reopened after it broke or was
/// dropped: what every long-lived storage object keeps.
class lazy_connection {
public:
  /// A session variable set on every connection opened: name, value.
  using setting = std::pair<std::string, std::string>;

  explicit lazy_connection(std::string url, std::vector<setting> settings = {})
    : url_(std::move(url)), settings_(std::move(settings)) {}

  /// A connection whose statements run thousands of times a second and
  /// read every table by key. Each statement is planned once, not on
  /// every call (a custom plan cost more than running it), and the plan
  /// never scans a table whole. Plans are made again 1 s after the
  /// connection opened, then at intervals that double up to a minute: a
  /// plan is otherwise kept until an ANALYZE of its tables, and one made
  /// while a table was nearly empty went on treating it as such as it grew
  /// (the expander's lock of its rows went through a whole index of the
  /// outbox for every batch, until autovacuum came).
  static lazy_connection planned_once_by_key(std::string url) {
    lazy_connection conn{
      std::move(url),
      {{"plan_cache_mode", "force_generic_plan"}, {"enable_seqscan", "off"}}};
    conn.replans_ = true;
    return conn;
  }

  /// The open connection, (re)connecting first if needed. Call it with no
  /// transaction open on the connection: it may discard stale plans.
  pqxx::connection& get() {
    if (!conn_ || !conn_->is_open()) {
      conn_ = open(url_);
      for (const auto& [name, value] : settings_)
        conn_->set_variable(name, value);
      ++opened_;
      replan_after_ = std::chrono::seconds{1};
      replan_at_ = std::chrono::steady_clock::now() + replan_after_;
    } else if (replans_ && std::chrono::steady_clock::now() >= replan_at_) {
      discard_plans();
    }
    return *conn_;
  }

  /// How many connections were opened so far: what was prepared on an
  /// earlier one must be prepared again.
  uint64_t generation() const { return opened_; }

  /// Whether a connection is open right now (no connection attempt).
  bool is_open() const { return conn_ && conn_->is_open(); }

  /// The server process of the open connection; 0 when none is open.
  int backend_pid() const { return is_open() ? conn_->backendpid() : 0; }

  /// Forgets the connection; the next get() opens a new one.
  void reset() { conn_.reset(); }

  /// Runs `fn` in a transaction and commits; a broken connection is
  /// dropped so that the next call reconnects, and every error leaves as
  /// storage::error with `what` in front.
  template <class F>
  auto transact(const char* what, F&& fn)
    -> decltype(fn(std::declval<pqxx::work&>()));

  /// Runs `fn` without BEGIN and COMMIT, for one statement: a statement
  /// sees one snapshot and commits as it ends on its own, and the three
  /// round trips of a transaction were most of a small call's time (a
  /// read, a poll that finds nothing). Errors as transact.
  template <class F>
  auto one_statement(const char* what, F&& fn)
    -> decltype(fn(std::declval<pqxx::nontransaction&>()));

private:
  void discard_plans();

  std::string url_;
  std::vector<setting> settings_;
  std::unique_ptr<pqxx::connection> conn_;
  uint64_t opened_ = 0;
  bool replans_ = false; ///< planned_once_by_key
  std::chrono::steady_clock::duration replan_after_{};
  std::chrono::steady_clock::time_point replan_at_{};
};

/// Runs `fn`, translating pqxx exceptions into storage::error.
template <class F>
auto translate(F&& fn) -> decltype(fn());

[[noreturn]] void rethrow_as_storage_error(const std::string& context);

template <class F>
auto lazy_connection::transact(const char* what, F&& fn)
  -> decltype(fn(std::declval<pqxx::work&>())) {
  try {
    pqxx::work tx{get()};
    auto result = fn(tx);
    tx.commit();
    return result;
  } catch (const pqxx::broken_connection&) {
    reset();
    rethrow_as_storage_error(what);
  } catch (...) {
    rethrow_as_storage_error(what);
  }
}

template <class F>
auto lazy_connection::one_statement(const char* what, F&& fn)
  -> decltype(fn(std::declval<pqxx::nontransaction&>())) {
  try {
    pqxx::nontransaction tx{get()};
    return fn(tx);
  } catch (const pqxx::broken_connection&) {
    reset();
    rethrow_as_storage_error(what);
  } catch (...) {
    rethrow_as_storage_error(what);
  }
}

template <class F>
auto translate(F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    rethrow_as_storage_error("");
  }
}

} // namespace herald::storage::detail
