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
  m.created_unix = parse_iso_utc(m.created_at).value_or(0);
  return protocol::seal(m);
}

} // namespace herald::storage::detail
