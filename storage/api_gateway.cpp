#include "storage/api_gateway.hpp"

#include "core/api_error.hpp"
#include "core/metrics.hpp"
#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

#include <condition_variable>
#include <mutex>
#include <sstream>
#include <vector>

namespace herald::storage {

namespace {

// "ERROR:  text\nHINT:  hint\nCONTEXT: ..." → text and hint.
std::pair<std::string, std::string> split_message(const std::string& what) {
  auto value_after = [](const std::string& line, size_t prefix) {
    auto begin = line.find_first_not_of(' ', prefix);
    return begin == std::string::npos ? std::string{} : line.substr(begin);
  };
  std::string text;
  std::string hint;
  std::istringstream lines{what};
  for (std::string line; std::getline(lines, line);) {
    if (text.empty() && line.rfind("ERROR:", 0) == 0)
      text = value_after(line, 6);
    else if (hint.empty() && line.rfind("HINT:", 0) == 0)
      hint = value_after(line, 5);
  }
  return {text.empty() ? what : text, hint};
}

// The API's answer to an SQL error a request can cause; nullopt for the
// rest (which are the engine's problem: 500).
std::optional<api_error> as_api_error(const pqxx::sql_error& e) {
  const auto& state = e.sqlstate();
  auto [text, hint] = split_message(e.what());
  if (state.size() == 5 && state.compare(0, 2, "HR") == 0) {
    // Raised by herald.api_fail: "code: message".
    auto colon = text.find(": ");
    auto code = colon == std::string::npos ? "refused" : text.substr(0, colon);
    auto message = colon == std::string::npos ? text : text.substr(colon + 2);
    return api_error{static_cast<unsigned>(std::stoi(state.substr(2))), code,
                     message, hint};
  }
  if (state == "23505" || state == "55000")
    return api_error{409, "conflict", text, hint};
  if (state.compare(0, 2, "22") == 0)
    return api_error{400, "invalid_value", text, hint};
  if (state.compare(0, 2, "23") == 0)
    return api_error{400, "constraint_violation", text, hint};
  if (state == "42704")
    return api_error{404, "not_found", text, hint};
  return std::nullopt;
}

} // namespace

struct api_gateway::impl {
  impl(const std::string& url, size_t n) {
    for (size_t i = 0; i < std::max<size_t>(1, n); ++i) {
      connections.emplace_back(std::make_unique<detail::lazy_connection>(url));
      idle.push_back(connections.back().get());
    }
  }

  std::vector<std::unique_ptr<detail::lazy_connection>> connections;
  std::vector<detail::lazy_connection*> idle;
  std::mutex mutex;
  std::condition_variable available;

  detail::lazy_connection* checkout() {
    std::unique_lock<std::mutex> guard{mutex};
    available.wait(guard, [&] { return !idle.empty(); });
    auto conn = idle.back();
    idle.pop_back();
    metrics::api_connections_in_use(+1);
    return conn;
  }

  void checkin(detail::lazy_connection* conn) {
    {
      std::lock_guard<std::mutex> guard{mutex};
      idle.push_back(conn);
    }
    metrics::api_connections_in_use(-1);
    available.notify_one();
  }

  template <class Query>
  std::string run(Query&& query) {
    auto conn = checkout();
    struct give_back {
      impl* self;
      detail::lazy_connection* conn;
      ~give_back() { self->checkin(conn); }
    } guard{this, conn};
    try {
      pqxx::work tx{conn->get()};
      auto row = query(tx);
      tx.commit();
      return row[0][0].template as<std::string>();
    } catch (const pqxx::broken_connection&) {
      conn->reset();
      detail::rethrow_as_storage_error("API call");
    } catch (const pqxx::sql_error& e) {
      if (auto refusal = as_api_error(e))
        throw *refusal;
      detail::rethrow_as_storage_error("API call");
    } catch (...) {
      detail::rethrow_as_storage_error("API call");
    }
  }
};

api_gateway::api_gateway(std::string database_url, size_t connections)
  : impl_(std::make_unique<impl>(database_url, connections)) {}

api_gateway::~api_gateway() = default;

std::string api_gateway::call(const std::string& function,
                              std::optional<int64_t> app_id,
                              const std::string& args_json) {
  return impl_->run([&](pqxx::work& tx) {
    auto sql = "SELECT herald." + tx.quote_name(function) +
               "($1::bigint, $2::jsonb)::text";
    return tx.exec_params(sql, app_id, args_json);
  });
}

std::string api_gateway::call_as_app(const std::string& key_hash,
                                     const std::string& function,
                                     const std::string& args_json) {
  return impl_->run([&](pqxx::work& tx) {
    return tx.exec_params("SELECT herald.api_as_app($1, $2, $3::jsonb)::text",
                          key_hash, function, args_json);
  });
}

} // namespace herald::storage
