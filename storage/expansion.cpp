#include "storage/expansion.hpp"

#include "core/log.hpp"
#include "storage/detail/pg.hpp"
#include "storage/detail/pg_array.hpp"
#include "storage/error.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

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
                 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), t.message_type
    FROM herald.outbox o
    LEFT JOIN herald.templates t
      ON t.app_id = o.app_id AND t.code = o.template_code
     AND t.status = 'approved'
   WHERE o.state = 'pending' AND o.xact_id >= '0'
     AND (o.xact_id, o.id) >= ($2::xid8, $3::bigint)
   ORDER BY o.xact_id, o.id
   LIMIT $1
     FOR UPDATE OF o SKIP LOCKED
)sql";

// Most wakes under load find nothing to claim: every publishing commit
// sends a NOTIFY, and the batch before took its rows already. This read,
// outside a transaction, says so in one round trip; the claim's BEGIN,
// SELECT and ROLLBACK took three (3,600 empty claims for 5,000 messages
// at 1,000 publishes/s).
//
// It also moves the claim floor, a (transaction id, outbox id) below
// which no row is pending, now or later, so that the claim and the next
// probe step over only the rows expanded since this one (schema/0013).
// The least pending row m at or above the floor held ($1, $2) is the new
// floor when its transaction is older than the snapshot's xmin: every
// transaction below the xmin has ended, so all their rows are visible and
// none below m is pending. Otherwise a transaction at or above the xmin
// may still commit rows, and the floor is (xmin, 0), never below the one
// held. `xact_id >= '0'` names the predicate of the pending index in
// claim order (schema/0013), here and in the claim.
constexpr const char* pending_sql = R"sql(
  WITH s AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
  m AS (
    SELECT o.xact_id, o.id FROM herald.outbox o
     WHERE o.state = 'pending' AND o.xact_id >= '0'
       AND (o.xact_id, o.id) >= ($1::xid8, $2::bigint)
     ORDER BY o.xact_id, o.id
     LIMIT 1)
  SELECT CASE WHEN m.xact_id < s.xmin THEN m.xact_id
              WHEN (s.xmin, 0) > ($1::xid8, $2::bigint) THEN s.xmin
              ELSE $1::xid8 END::text,
         CASE WHEN m.xact_id < s.xmin THEN m.id
              WHEN (s.xmin, 0) > ($1::xid8, $2::bigint) THEN 0
              ELSE $2::bigint END,
         m.id IS NOT NULL
    FROM s LEFT JOIN m ON true
)sql";

constexpr const char* expand_sql = R"sql(
  SELECT first_position, last_position
    FROM herald.expand_to_log($1::bigint[], $2::bigint[], $3::text[],
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
    t.message_type = row[14].as<std::string>();
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
  uint64_t prepared_on = 0; ///< the connection generation prepared on
  /// No pending row is below (claim_floor_xact, claim_floor_id) in the
  /// order claims take them (the transaction id is an xid8, as text).
  std::string claim_floor_xact = "0";
  int64_t claim_floor_id = 0;

  // Planned once per connection: the claim's plan cost as much as running
  // it for a small batch.
  pqxx::connection& prepared() {
    auto& c = conn.get();
    if (prepared_on != conn.generation()) {
      c.prepare("herald_pending", pending_sql);
      c.prepare("herald_claim", claim_sql);
      c.prepare("herald_expand", expand_sql);
      prepared_on = conn.generation();
    }
    return c;
  }

  batch_result run_once(size_t limit, const render_fn& render) {
    batch_result result;
    {
      pqxx::nontransaction probe{prepared()};
      auto row = probe.exec_prepared1("herald_pending", claim_floor_xact,
                                      claim_floor_id);
      claim_floor_xact = row[0].as<std::string>();
      claim_floor_id = row[1].as<int64_t>();
      if (!row[2].as<bool>())
        return result;
    }
    pqxx::work tx{prepared()};
    auto rows = tx.exec_prepared("herald_claim", static_cast<int64_t>(limit),
                                 claim_floor_xact, claim_floor_id);
    result.claimed = rows.size();
    if (rows.empty())
      return result;
    std::vector<std::optional<std::string>> ids, template_ids, types, rendered,
      codes, messages;
    for (const auto& row : rows) {
      auto message = to_claimed(row);
      auto outcome = render(message);
      ids.emplace_back(std::to_string(message.id));
      if (outcome.reject_code.empty()) {
        template_ids.emplace_back(std::to_string(message.approved->id));
        types.emplace_back(message.approved->message_type);
        if (outcome.rendered_json.find("\"sms\"") != std::string::npos ||
            outcome.rendered_json.find("\"mobile\"") != std::string::npos)
          result.channel_work = true;
        rendered.emplace_back(std::move(outcome.rendered_json));
        codes.emplace_back(std::nullopt);
        messages.emplace_back(std::nullopt);
      } else {
        ++result.rejected;
        template_ids.emplace_back(std::nullopt);
        types.emplace_back(std::nullopt);
        rendered.emplace_back(std::nullopt);
        codes.emplace_back(std::move(outcome.reject_code));
        messages.emplace_back(std::move(outcome.reject_message));
      }
    }
    auto positions = tx.exec_prepared(
      "herald_expand", detail::to_array_literal(ids),
      detail::to_array_literal(template_ids), detail::to_array_literal(types),
      detail::to_array_literal(rendered), detail::to_array_literal(codes),
      detail::to_array_literal(messages));
    tx.commit();
    if (!positions.empty()) {
      result.first_position = positions[0][0].as<int64_t>();
      result.last_position = positions[0][1].as<int64_t>();
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
