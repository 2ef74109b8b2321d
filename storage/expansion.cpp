#include "storage/expansion.hpp"

#include "core/log.hpp"
#include "storage/detail/pg.hpp"
#include "storage/detail/pg_array.hpp"
#include "storage/detail/web_row.hpp"
#include "storage/error.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <future>
#include <optional>
#include <system_error>
#include <unordered_map>

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
         m.mobile_body, m.required_vars, m.created_at, m.message_type,
         m.xact_id::text
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

// A row of read_sql: the floor's two columns, then the message's, and
// last its transaction id.
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

// A connection with the expansion's statements prepared on it.
struct prepared_connection {
  explicit prepared_connection(std::string url)
    : conn(detail::lazy_connection::planned_once_by_key(std::move(url))) {}

  detail::lazy_connection conn;
  uint64_t prepared_on = 0; ///< the connection generation prepared on

  pqxx::connection& get() {
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
};

// Pending rows read and rendered, as herald.expand_pending takes them.
struct rendered_batch {
  size_t read = 0;
  std::vector<std::optional<std::string>> ids, template_ids, types, rendered,
    codes, messages;
  size_t text_bytes = 0; ///< the message text the log entries would hold
  /// What the log entries of each rendered message with web text hold, by
  /// outbox id, sealed for the wire; none when text_bytes is above
  /// outbox_expander::answer_bytes.
  std::unordered_map<int64_t, std::shared_ptr<const message_content>> contents;
  /// The last row read, in claim order: a read ahead starts after it.
  std::string last_xact;
  int64_t last_id = 0;
  /// The claim floor the read computed (read_sql): kept by a read from
  /// the floor, ignored for a read ahead.
  std::string floor_xact;
  int64_t floor_id = 0;
};

// What a log entry of `message` holds, as a read of the log gives it
// (storage/log_reader.cpp): its web title and body from `rendered_json`,
// the rest as read. Null without web text (no entry then).
std::shared_ptr<const message_content>
logged_content(const claimed_message& message,
               const std::string& rendered_json) {
  auto rendered = nlohmann::json::parse(rendered_json);
  auto web = rendered.find("web");
  if (web == rendered.end())
    return nullptr;
  web_message m;
  m.id = message.id;
  m.template_code = message.template_code;
  m.title = web->value("title", "");
  m.body = web->value("body", "");
  m.data_json = message.vars_json;
  m.created_at = message.created_at;
  auto content = std::make_shared<message_content>();
  content->message_type = message.approved->message_type;
  content->priority = message.priority;
  content->web = detail::sealed_web(std::move(m));
  return content;
}

// The read and the render, with no lock held: the rows at or after
// (from_xact, from_id) in claim order.
rendered_batch read_and_render(pqxx::connection& c,
                               const std::string& from_xact, int64_t from_id,
                               size_t limit,
                               const outbox_expander::render_fn& render) {
  rendered_batch batch;
  pqxx::nontransaction tx{c};
  auto rows = tx.exec_prepared("herald_read_pending", from_xact, from_id,
                               static_cast<int64_t>(limit));
  batch.floor_xact = rows[0][0].as<std::string>();
  batch.floor_id = rows[0][1].as<int64_t>();
  if (rows[0][2].is_null())
    return batch;
  batch.read = rows.size();
  for (const auto& row : rows) {
    auto message = to_claimed(row);
    auto outcome = render(message);
    batch.text_bytes += message.vars_json.size() + outcome.rendered_json.size();
    batch.ids.emplace_back(std::to_string(message.id));
    if (outcome.reject_code.empty()) {
      if (batch.text_bytes <= outbox_expander::answer_bytes)
        if (auto content = logged_content(message, outcome.rendered_json))
          batch.contents.emplace(message.id, std::move(content));
      batch.template_ids.emplace_back(std::to_string(message.approved->id));
      batch.types.emplace_back(message.approved->message_type);
      batch.rendered.emplace_back(std::move(outcome.rendered_json));
      batch.codes.emplace_back(std::nullopt);
      batch.messages.emplace_back(std::nullopt);
    } else {
      batch.template_ids.emplace_back(std::nullopt);
      batch.types.emplace_back(std::nullopt);
      batch.rendered.emplace_back(std::nullopt);
      batch.codes.emplace_back(std::move(outcome.reject_code));
      batch.messages.emplace_back(std::move(outcome.reject_message));
    }
  }
  if (batch.text_bytes > outbox_expander::answer_bytes)
    batch.contents.clear();
  const auto& last = rows[rows.size() - 1];
  batch.last_xact = last[17].as<std::string>();
  batch.last_id = last[2].as<int64_t>();
  return batch;
}

// The answer's entries (position, stream, message id from column 4 on,
// in (position, stream) order), with the contents the batch sealed. False
// if a message is not among them (then `batch` has no entry: the log
// read has them).
bool add_logged(
  log_batch& batch, const pqxx::result& answer,
  const std::unordered_map<int64_t, std::shared_ptr<const message_content>>&
    contents) {
  for (const auto& row : answer) {
    if (row[4].is_null())
      continue;
    auto position = row[4].as<int64_t>();
    if (batch.entries.empty() || batch.entries.back().position != position) {
      auto content = contents.find(row[6].as<int64_t>());
      if (content == contents.end()) {
        batch.entries.clear();
        return false;
      }
      log_entry entry;
      entry.position = position;
      entry.message = content->second;
      batch.entries.push_back(std::move(entry));
    }
    batch.entries.back().streams.push_back(row[5].as<std::string>());
  }
  return true;
}

// herald.expand_pending on a rendered batch: takes the rows still pending,
// logs them and commits (schema/0019, 0024).
batch_result expand_rendered(pqxx::connection& c, rendered_batch&& batch) {
  batch_result result;
  result.read = batch.read;
  result.logged_in_full = batch.text_bytes <= outbox_expander::answer_bytes;
  pqxx::nontransaction tx{c};
  auto taken = tx.exec_prepared(
    result.logged_in_full ? "herald_expand_pending" : "herald_expand_positions",
    detail::to_array_literal(batch.ids),
    detail::to_array_literal(batch.template_ids),
    detail::to_array_literal(batch.types),
    detail::to_array_literal(batch.rendered),
    detail::to_array_literal(batch.codes),
    detail::to_array_literal(batch.messages));
  const auto& row = taken[0];
  result.claimed = row[0].as<size_t>();
  if (!row[1].is_null()) {
    result.first_position = row[1].as<int64_t>();
    result.last_position = row[2].as<int64_t>();
    result.logged.after = result.first_position - 1;
    result.logged.through = result.last_position;
    if (result.logged_in_full)
      result.logged_in_full = add_logged(result.logged, taken, batch.contents);
  }
  // Of the messages taken, those with no position were rejected.
  auto positioned =
    row[1].is_null() ? 0 : result.last_position - result.first_position + 1;
  result.rejected = result.claimed - static_cast<size_t>(positioned);
  result.channel_work = row[3].as<bool>();
  return result;
}

} // namespace

struct outbox_expander::impl {
  explicit impl(const std::string& url) : main(url), ahead_conn(url) {}

  prepared_connection main;
  /// No pending row is below (claim_floor_xact, claim_floor_id) in the
  /// order reads take them (the transaction id is an xid8, as text).
  std::string claim_floor_xact = "0";
  int64_t claim_floor_id = 0;

  /// Reads the batch after a full one while that one is expanded, on a
  /// connection of its own: the expansion is mostly the database's work,
  /// the read and the render mostly this process's, so they overlap. Its
  /// rows follow the full batch's in claim order; it does not move the
  /// claim floor (rows of transactions still open may yet commit below
  /// them, and a failed expansion leaves its rows pending behind the
  /// floor), so the next read of `main` still starts where the floor says.
  prepared_connection ahead_conn;
  std::optional<rendered_batch> ahead;

  // No transaction block: the read (none when a read ahead has the
  // batch), then the call that takes, expands, commits and answers with
  // the entries it logged; after a full batch, the next one is read ahead
  // meanwhile.
  batch_result run_once(size_t limit, const render_fn& render) {
    rendered_batch batch;
    if (ahead) {
      batch = std::move(*ahead);
      ahead.reset();
    } else {
      batch = read_and_render(main.get(), claim_floor_xact, claim_floor_id,
                              limit, render);
      claim_floor_xact = batch.floor_xact;
      claim_floor_id = batch.floor_id;
    }
    if (batch.read == 0)
      return {};
    std::future<std::optional<rendered_batch>> next;
    if (batch.read == limit)
      next = read_ahead(batch, limit, render);
    try {
      auto result = expand_rendered(main.get(), std::move(batch));
      if (next.valid())
        ahead = next.get();
      return result;
    } catch (...) {
      // The rows read ahead may follow rows now pending again: dropped,
      // the next read starts at the floor.
      if (next.valid())
        next.wait();
      throw;
    }
  }

  // The rows after `full`, read and rendered on a thread of their own
  // (render runs there while this thread waits for the database, never
  // at the same time as here). Any failure only drops the read ahead.
  std::future<std::optional<rendered_batch>>
  read_ahead(const rendered_batch& full, size_t limit,
             const render_fn& render) {
    auto work = [this, limit, &render, xact = full.last_xact,
                 id = full.last_id]() -> std::optional<rendered_batch> {
      try {
        auto batch =
          read_and_render(ahead_conn.get(), xact, id + 1, limit, render);
        // Only a full batch is kept. A short one would end the expander's
        // turn ("nothing more") on a read older than the wake-ups it has
        // received; the read that ends a turn is made when it is needed.
        if (batch.read < limit)
          return std::nullopt;
        return batch;
      } catch (const std::exception& e) {
        ahead_conn.conn.reset();
        log::get("ingest")->debug("read ahead failed: {}", e.what());
        return std::nullopt;
      }
    };
    try {
      return std::async(std::launch::async, std::move(work));
    } catch (const std::system_error&) {
      return {}; // no thread to spare: the next batch is read in turn
    }
  }
};

outbox_expander::outbox_expander(std::string database_url)
  : impl_(std::make_unique<impl>(database_url)) {}

outbox_expander::~outbox_expander() = default;

int outbox_expander::backend_pid() const {
  return impl_->main.conn.backend_pid();
}

batch_result outbox_expander::expand_batch(size_t limit,
                                           const render_fn& render) {
  for (int attempt = 1;; ++attempt) {
    try {
      return impl_->run_once(limit, render);
    } catch (const pqxx::transaction_rollback& e) {
      impl_->ahead.reset();
      if (attempt >= max_attempts)
        detail::rethrow_as_storage_error("expansion kept conflicting");
      log::get("ingest")->debug("expansion conflict, retrying: {}", e.what());
    } catch (const error&) {
      impl_->ahead.reset();
      throw;
    } catch (...) {
      // Whatever failed (the database, a conversion, a render), the
      // connection may be mid-transaction or broken: start afresh.
      impl_->main.conn.reset();
      impl_->ahead.reset();
      detail::rethrow_as_storage_error("expansion failed");
    }
  }
}

} // namespace herald::storage
