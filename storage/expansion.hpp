#pragma once

#include "core/template_renderer.hpp"
#include "storage/log_entry.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald::storage {

/// The approved template version a claimed message renders with.
struct approved_template {
  int64_t id = 0;
  std::string message_type; ///< what preferences and caps key on
  template_source source;
};

/// A pending outbox row read for the current batch, with what it renders
/// with; the batch takes it only if it is still pending then.
struct claimed_message {
  int64_t id = 0;
  int64_t app_id = 0;
  std::string template_code;
  std::string vars_json;
  std::vector<std::string> channels; ///< empty: every channel of the template
  std::string priority;
  std::string created_at;                    ///< ISO 8601, UTC
  std::optional<approved_template> approved; ///< none approved: rejected
};

/// What rendering made of one claimed message: its rendered channels as
/// JSON ({"web": {"title", "body"}, ...}) or a reject code and message.
struct render_outcome {
  std::string rendered_json;
  std::string reject_code;
  std::string reject_message;

  static render_outcome rendered(std::string json) {
    return {std::move(json), {}, {}};
  }
  static render_outcome rejected(std::string code, std::string message) {
    return {{}, std::move(code), std::move(message)};
  }
};

struct batch_result {
  /// Pending rows read and rendered; fewer than the limit: no more were
  /// pending.
  size_t read = 0;
  /// Of those, the rows this batch took: the others another engine had
  /// taken meanwhile.
  size_t claimed = 0;
  /// Of those, the rows rejected (not rendered, or no target found).
  size_t rejected = 0;
  /// The positions the batch's messages took (0, 0: none).
  int64_t first_position = 0;
  int64_t last_position = 0;
  /// Some message has sms or mobile texts: the channel step has work
  /// (herald_channels was notified with the commit).
  bool channel_work = false;
  /// The log entries the batch wrote, as a read of the log after
  /// first_position - 1 through last_position returns them (empty range:
  /// no position taken). Every position below them is committed.
  log_batch logged;
  /// `logged` holds every entry the batch wrote. False for a batch whose
  /// messages are too large to be held for it (more than
  /// outbox_expander::answer_bytes): the log read, bounded as it is, has
  /// its entries.
  bool logged_in_full = false;
};

/// Turns pending outbox rows into stream log entries, in the order they
/// were published, in two statements outside a transaction block: read
/// the pending rows from the claim floor it keeps (schema/0013), render
/// each through `render` with no lock held, then herald.expand_pending
/// takes those still pending and not held by another engine (FOR UPDATE
/// SKIP LOCKED), writes them to the log and commits (schema/0019).
/// After a full batch, the next one is read and rendered on a second
/// connection, from a thread of its own, while the first is expanded.
/// Blocking: run it in a detached actor; `render` is called from that
/// thread or the read-ahead's, never both at once, and never once
/// expand_batch has returned. Keeps two connections, each reopened after
/// it breaks.
class outbox_expander {
public:
  using render_fn = std::function<render_outcome(const claimed_message&)>;

  explicit outbox_expander(std::string database_url);
  ~outbox_expander();

  outbox_expander(const outbox_expander&) = delete;
  outbox_expander& operator=(const outbox_expander&) = delete;

  /// The most message text (vars and rendered output, summed over a
  /// batch) a batch seals for its log entries, which the expansion call
  /// then names by position, stream and message; above it the call
  /// answers with the batch's positions only, and the tailer reads the
  /// entries from the log. What is sealed is held in memory with the
  /// batch's rows, so 500 messages of 200 kB would be 200 MB at once.
  static constexpr size_t answer_bytes = 1 << 20;

  /// Expands up to `limit` pending messages. A deadlock or serialization
  /// failure is retried; every other failure, of the database or of
  /// `render`, throws storage::error and leaves the rows pending.
  batch_result expand_batch(size_t limit, const render_fn& render);

  /// The server process of its connection (0 before the first batch):
  /// the log notifications of its commits come from it.
  int backend_pid() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
