#include "storage/detail/web_row.hpp"

#include "core/iso_time.hpp"
#include "core/protocol.hpp"

namespace herald::storage::detail {

std::shared_ptr<const web_content> sealed_web(const pqxx::row& row,
                                              pqxx::row::size_type first) {
  web_message m;
  m.id = row[first].as<int64_t>();
  m.template_code = row[first + 1].as<std::string>();
  m.title = row[first + 2].as<std::string>();
  m.body = row[first + 3].as<std::string>();
  m.data_json = row[first + 4].as<std::string>();
  m.created_at = row[first + 5].as<std::string>();
  return sealed_web(std::move(m));
}

std::shared_ptr<const web_content> sealed_web(web_message m) {
  m.created_unix = parse_iso_utc(m.created_at).value_or(0);
  return protocol::seal(m);
}

void add_log_row(log_batch& batch, const pqxx::row& row,
                 pqxx::row::size_type first) {
  auto position = row[first].as<int64_t>();
  if (batch.entries.empty() || batch.entries.back().position != position) {
    log_entry entry;
    entry.position = position;
    if (!row[first + 2].is_null()) {
      auto m = std::make_shared<message_content>();
      m->web = sealed_web(row, first + 2);
      m->message_type = row[first + 8].as<std::string>();
      m->priority = row[first + 9].as<std::string>();
      entry.message = std::move(m);
    }
    batch.entries.push_back(std::move(entry));
  }
  batch.entries.back().streams.push_back(row[first + 1].as<std::string>());
}

} // namespace herald::storage::detail
