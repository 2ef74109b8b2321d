#include "storage/app_catalog.hpp"

#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

#include <nlohmann/json.hpp>

namespace herald::storage {

namespace {

std::vector<std::string> strings(const std::string& json_text) {
  std::vector<std::string> out;
  for (const auto& item : nlohmann::json::parse(json_text))
    out.push_back(item.get<std::string>());
  return out;
}

} // namespace

struct app_catalog::impl {
  explicit impl(std::string url) : conn(std::move(url)) {}

  detail::lazy_connection conn;
};

app_catalog::app_catalog(std::string database_url)
  : impl_(std::make_unique<impl>(std::move(database_url))) {}

app_catalog::~app_catalog() = default;

app_directory::snapshot app_catalog::load() {
  try {
    pqxx::read_transaction tx{impl_->conn.get()};
    app_directory::snapshot apps;
    for (const auto& row : tx.exec(
           "SELECT id, name, token_secret, array_to_json(allowed_origins),"
           " array_to_json(allowed_channels), disabled FROM herald.apps")) {
      app_info app;
      app.id = row[0].as<int64_t>();
      app.name = row[1].as<std::string>();
      app.token_secret = row[2].as<std::string>();
      app.allowed_origins = strings(row[3].as<std::string>());
      app.allowed_channels = strings(row[4].as<std::string>());
      app.disabled = row[5].as<bool>();
      apps.emplace(app.name, std::move(app));
    }
    return apps;
  } catch (...) {
    impl_->conn.reset();
    detail::rethrow_as_storage_error("cannot read apps");
  }
}

} // namespace herald::storage
