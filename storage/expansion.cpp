#include "storage/expansion.hpp"

#include "core/log.hpp"
#include "storage/detail/pg.hpp"
#include "storage/detail/pg_array.hpp"
#include "storage/error.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <unordered_map>

namespace herald::storage {

namespace {

// Deadlocks cannot happen between expanders (they lock users in id order)
// but can with other writers; each retry starts the batch afresh.
constexpr int max_attempts = 5;

constexpr const char* claim_sql = R"sql(
  SELECT o.id, o.app_id, o.template_code, o.vars::text,
         coalesce(array_to_json(o.channels)::text, '[]'), o.priority,
         t.id, t.web_title, t.web_body, t.sms_body, t.mobile_title,
         t.mobile_body, array_to_json(t.required_vars)::text,
         to_char(o.created_at AT TIME ZONE 'UTC',
                 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    FROM herald.outbox o
    LEFT JOIN herald.templates t
      ON t.app_id = o.app_id AND t.code = o.template_code
     AND t.status = 'approved'
   WHERE o.state = 'pending'
   ORDER BY o.id
   LIMIT $1
     FOR UPDATE OF o SKIP LOCKED
)sql";

constexpr const char* expand_sql = R"sql(
  SELECT message_id, user_id, app_id, external_id, channel, seq, state
    FROM herald.expand_claimed($1::bigint[], $2::bigint[], $3::jsonb[],
                               $4::text[], $5::text[])
)sql";

std::vector<std::string> json_strings(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& item : nlohmann::json::parse(text))
    out.push_back(item.get<std::string>());
  return out;
}

// The content every delivery of `m` shares, from its rendered texts.
std::shared_ptr<const message_content>
content_of(const claimed_message& m, const std::string& rendered_json) {
  auto content = std::make_shared<message_content>();
  content->id = m.id;
  content->template_code = m.template_code;
  content->vars_json = m.vars_json;
  content->created_at = m.created_at;
  auto rendered = nlohmann::json::parse(rendered_json, nullptr, false);
  if (rendered.is_object() && rendered.contains("web")) {
    const auto& web = rendered["web"];
    content->web_title = web.value("title", "");
    content->web_body = web.value("body", "");
  }
  return content;
}

std::string text_or_empty(const pqxx::field& f) {
  return f.is_null() ? std::string{} : f.as<std::string>();
}

claimed_message to_claimed(const pqxx::row& row) {
  claimed_message m;
  m.id = row[0].as<int64_t>();
  m.app_id = row[1].as<int64_t>();
  m.template_code = row[2].as<std::string>();
  m.vars_json = row[3].as<std::string>();
  m.channels = json_strings(row[4].as<std::string>());
  m.priority = row[5].as<std::string>();
  m.created_at = row[13].as<std::string>();
  if (!row[6].is_null()) {
    approved_template t;
    t.id = row[6].as<int64_t>();
    t.source.web_title = text_or_empty(row[7]);
    t.source.web_body = text_or_empty(row[8]);
    t.source.sms_body = text_or_empty(row[9]);
    t.source.mobile_title = text_or_empty(row[10]);
    t.source.mobile_body = text_or_empty(row[11]);
    t.source.required_vars = json_strings(row[12].as<std::string>());
    m.approved = std::move(t);
  }
  return m;
}

} // namespace

struct outbox_expander::impl {
  explicit impl(std::string url) : conn(std::move(url)) {}

  detail::lazy_connection conn;

  batch_result run_once(size_t limit, const render_fn& render) {
    batch_result result;
    pqxx::work tx{conn.get()};
    auto rows = tx.exec_params(claim_sql, static_cast<int64_t>(limit));
    result.claimed = rows.size();
    if (rows.empty())
      return result;
    std::vector<std::optional<std::string>> ids, template_ids, rendered, codes,
      messages;
    std::unordered_map<int64_t, std::shared_ptr<const message_content>>
      contents;
    for (const auto& row : rows) {
      auto message = to_claimed(row);
      auto outcome = render(message);
      ids.emplace_back(std::to_string(message.id));
      if (outcome.reject_code.empty()) {
        contents.emplace(message.id,
                         content_of(message, outcome.rendered_json));
        template_ids.emplace_back(std::to_string(message.approved->id));
        rendered.emplace_back(std::move(outcome.rendered_json));
        codes.emplace_back(std::nullopt);
        messages.emplace_back(std::nullopt);
      } else {
        ++result.rejected;
        template_ids.emplace_back(std::nullopt);
        rendered.emplace_back(std::nullopt);
        codes.emplace_back(std::move(outcome.reject_code));
        messages.emplace_back(std::move(outcome.reject_message));
      }
    }
    auto inserted = tx.exec_params(expand_sql, detail::to_array_literal(ids),
                                   detail::to_array_literal(template_ids),
                                   detail::to_array_literal(rendered),
                                   detail::to_array_literal(codes),
                                   detail::to_array_literal(messages));
    tx.commit();
    result.deliveries.reserve(inserted.size());
    for (const auto& row : inserted) {
      new_delivery d;
      d.message_id = row[0].as<int64_t>();
      d.user_id = row[1].as<int64_t>();
      d.app_id = row[2].as<int64_t>();
      d.external_id = row[3].as<std::string>();
      d.channel = row[4].as<std::string>();
      if (!row[5].is_null())
        d.seq = row[5].as<int64_t>();
      d.state = row[6].as<std::string>();
      d.message = contents[d.message_id];
      result.deliveries.push_back(std::move(d));
    }
    return result;
  }
};

outbox_expander::outbox_expander(std::string database_url)
  : impl_(std::make_unique<impl>(std::move(database_url))) {}

outbox_expander::~outbox_expander() = default;

batch_result outbox_expander::expand_batch(size_t limit,
                                           const render_fn& render) {
  for (int attempt = 1;; ++attempt) {
    try {
      return impl_->run_once(limit, render);
    } catch (const pqxx::transaction_rollback& e) {
      if (attempt >= max_attempts)
        detail::rethrow_as_storage_error("expansion kept conflicting");
      log::get("ingest")->debug("expansion conflict, retrying: {}", e.what());
    } catch (const pqxx::failure&) {
      // The connection may be unusable whatever the error: start afresh.
      impl_->conn.reset();
      detail::rethrow_as_storage_error("expansion failed");
    }
    // Anything else came from `render`: the transaction has rolled back and
    // the exception goes to the caller as it is.
  }
}

} // namespace herald::storage
