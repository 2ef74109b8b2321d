#include "storage/expansion.hpp"

#include "core/log.hpp"
#include "storage/detail/pg.hpp"
#include "storage/detail/pg_array.hpp"
#include "storage/detail/web_row.hpp"
#include "storage/error.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace herald::storage {

namespace {

// Deadlocks cannot happen between expanders (they lock users in id order)
// but can with other writers; each retry starts the batch afresh.
constexpr int max_attempts = 5;

// The pending rows of a batch, read outside any transaction (no lock:
// herald.expand_pending takes those still pending, schema/0019), with the
// template version each renders with, in the order they were published.
//
// The read also moves the claim floor, a (transaction id, outbox id)
// below which no row is pending, now or later, so that the next read
// steps over only the rows expanded since this one (schema/0013). The
// least pending row m at or above the floor held ($1, $2) is the new
// floor when its transaction is older than the snapshot's xmin: every
// transaction below the xmin has ended, so all their rows are visible and
// none below m is pending. Otherwise a transaction at or above the xmin
// may still commit rows, and the floor is (xmin, 0), never below the one
// held. `xact_id >= '0'` names the predicate of the pending index in
// claim order (schema/0013). With nothing pending there is one row, the
// floor's, with no message.
constexpr const char* read_sql = R"sql(
  WITH s AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
  m AS (
    SELECT o.xact_id, o.id, o.app_id, o.template_code, o.vars::text AS vars,
           coalesce(array_to_json(o.channels)::text, '[]') AS channels,
           o.priority, t.id AS template_id, t.web_title, t.web_body,
           t.sms_body, t.mobile_title, t.mobile_body,
           array_to_json(t.required_vars)::text AS required_vars,
           to_char(o.created_at AT TIME ZONE 'UTC',
                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
           t.message_type
      FROM herald.outbox o
      LEFT JOIN herald.templates t
        ON t.app_id = o.app_id AND t.code = o.template_code
       AND t.status = 'approved'
     WHERE o.state = 'pending' AND o.xact_id >= '0'
       AND (o.xact_id, o.id) >= ($1::xid8, $2::bigint)
     ORDER BY o.xact_id, o.id
     LIMIT $3),
  f AS (SELECT m.xact_id, m.id FROM m ORDER BY m.xact_id, m.id LIMIT 1)
  SELECT CASE WHEN f.xact_id < s.xmin THEN f.xact_id
              WHEN (s.xmin, 0) > ($1::xid8, $2::bigint) THEN s.xmin
              ELSE $1::xid8 END::text,
         CASE WHEN f.xact_id < s.xmin THEN f.id
              WHEN (s.xmin, 0) > ($1::xid8, $2::bigint) THEN 0
              ELSE $2::bigint END,
         m.id, m.app_id, m.template_code, m.vars, m.channels, m.priority,
         m.template_id, m.web_title, m.web_body, m.sms_body, m.mobile_title,
         m.mobile_body, m.required_vars, m.created_at, m.message_type
    FROM s LEFT JOIN f ON true LEFT JOIN m ON true
   ORDER BY m.xact_id, m.id
)sql";

constexpr const char* expand_sql = R"sql(
  SELECT * FROM herald.expand_pending($1::bigint[], $2::bigint[], $3::text[],
                                      $4::jsonb[], $5::text[], $6::text[])
)sql";

std::vector<std::string> json_strings(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& item : nlohmann::json::parse(text))
    out.push_back(item.get<std::string>());
  return out;
}

std::string text_or_empty(const pqxx::field& f) {
  return f.is_null() ? std::string{} : f.as<std::string>();
}

// A row of read_sql: the floor's two columns, then the message's.
claimed_message to_claimed(const pqxx::row& row) {
  claimed_message m;
  m.id = row[2].as<int64_t>();
  m.app_id = row[3].as<int64_t>();
  m.template_code = row[4].as<std::string>();
  m.vars_json = row[5].as<std::string>();
  m.channels = json_strings(row[6].as<std::string>());
  m.priority = row[7].as<std::string>();
  m.created_at = row[15].as<std::string>();
  if (!row[8].is_null()) {
    approved_template t;
    t.id = row[8].as<int64_t>();
    t.message_type = row[16].as<std::string>();
    t.source.web_title = text_or_empty(row[9]);
    t.source.web_body = text_or_empty(row[10]);
    t.source.sms_body = text_or_empty(row[11]);
    t.source.mobile_title = text_or_empty(row[12]);
    t.source.mobile_body = text_or_empty(row[13]);
    t.source.required_vars = json_strings(row[14].as<std::string>());
    m.approved = std::move(t);
  }
  return m;
}

} // namespace

struct outbox_expander::impl {
  explicit impl(std::string url)
    : conn(detail::lazy_connection::planned_once_by_key(std::move(url))) {}

  detail::lazy_connection conn;
  uint64_t prepared_on = 0; ///< the connection generation prepared on
  /// No pending row is below (claim_floor_xact, claim_floor_id) in the
  /// order reads take them (the transaction id is an xid8, as text).
  std::string claim_floor_xact = "0";
  int64_t claim_floor_id = 0;

  pqxx::connection& prepared() {
    auto& c = conn.get();
    if (prepared_on != conn.generation()) {
      c.prepare("herald_read_pending", read_sql);
      c.prepare("herald_expand_pending", expand_sql);
      // The same call answered with its first row only, the batch's own
      // columns (outbox_expander::answer_bytes).
      c.prepare("herald_expand_positions", std::string{expand_sql} + "LIMIT 1");
      prepared_on = conn.generation();
    }
    return c;
  }

  // Two round trips, no transaction block: the read, then the call that
  // takes, expands, commits and answers with the entries it logged
  // (schema/0019, 0022). Rendering happens between them, with no lock
  // held.
  batch_result run_once(size_t limit, const render_fn& render) {
    batch_result result;
    pqxx::nontransaction tx{prepared()};
    auto rows = tx.exec_prepared("herald_read_pending", claim_floor_xact,
                                 claim_floor_id, static_cast<int64_t>(limit));
    claim_floor_xact = rows[0][0].as<std::string>();
    claim_floor_id = rows[0][1].as<int64_t>();
    if (rows[0][2].is_null())
      return result;
    result.read = rows.size();
    std::vector<std::optional<std::string>> ids, template_ids, types, rendered,
      codes, messages;
    size_t text_bytes = 0; ///< what the answer's entries would carry
    for (const auto& row : rows) {
      auto message = to_claimed(row);
      auto outcome = render(message);
      text_bytes += message.vars_json.size() + outcome.rendered_json.size();
      ids.emplace_back(std::to_string(message.id));
      if (outcome.reject_code.empty()) {
        template_ids.emplace_back(std::to_string(message.approved->id));
        types.emplace_back(message.approved->message_type);
        rendered.emplace_back(std::move(outcome.rendered_json));
        codes.emplace_back(std::nullopt);
        messages.emplace_back(std::nullopt);
      } else {
        template_ids.emplace_back(std::nullopt);
        types.emplace_back(std::nullopt);
        rendered.emplace_back(std::nullopt);
        codes.emplace_back(std::move(outcome.reject_code));
        messages.emplace_back(std::move(outcome.reject_message));
      }
    }
    result.logged_in_full = text_bytes <= answer_bytes;
    auto taken = tx.exec_prepared(
      result.logged_in_full ? "herald_expand_pending"
                            : "herald_expand_positions",
      detail::to_array_literal(ids), detail::to_array_literal(template_ids),
      detail::to_array_literal(types), detail::to_array_literal(rendered),
      detail::to_array_literal(codes), detail::to_array_literal(messages));
    const auto& row = taken[0];
    result.claimed = row[0].as<size_t>();
    if (!row[1].is_null()) {
      result.first_position = row[1].as<int64_t>();
      result.last_position = row[2].as<int64_t>();
      result.logged.after = result.first_position - 1;
      result.logged.through = result.last_position;
      if (result.logged_in_full)
        for (const auto& entry : taken)
          if (!entry[4].is_null())
            detail::add_log_row(result.logged, entry, 4);
    }
    // Of the messages taken, those with no position were rejected.
    auto positioned =
      row[1].is_null() ? 0 : result.last_position - result.first_position + 1;
    result.rejected = result.claimed - static_cast<size_t>(positioned);
    result.channel_work = row[3].as<bool>();
    return result;
  }
};

outbox_expander::outbox_expander(std::string database_url)
  : impl_(std::make_unique<impl>(std::move(database_url))) {}

outbox_expander::~outbox_expander() = default;

int outbox_expander::backend_pid() const {
  return impl_->conn.backend_pid();
}

batch_result outbox_expander::expand_batch(size_t limit,
                                           const render_fn& render) {
  for (int attempt = 1;; ++attempt) {
    try {
      return impl_->run_once(limit, render);
    } catch (const pqxx::transaction_rollback& e) {
      if (attempt >= max_attempts)
        detail::rethrow_as_storage_error("expansion kept conflicting");
      log::get("ingest")->debug("expansion conflict, retrying: {}", e.what());
    } catch (const error&) {
      throw;
    } catch (...) {
      // Whatever failed (the database, a conversion, a render), the
      // connection may be mid-transaction or broken: start afresh.
      impl_->conn.reset();
      detail::rethrow_as_storage_error("expansion failed");
    }
  }
}

} // namespace herald::storage
