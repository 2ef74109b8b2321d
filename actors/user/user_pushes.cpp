#include "actors/user/user_pushes.hpp"

#include "core/iso_time.hpp"
#include "core/metrics.hpp"

#include <spdlog/spdlog.h>

namespace herald::actors {

std::optional<delivery> web_delivery(web_policy& policy,
                                     const feed_item& item) {
  const auto& m = *item.message;
  auto verdict = policy.decide(m.message_type, m.priority, m.web->created_unix);
  if (verdict == web_verdict::opted_out || verdict == web_verdict::over_cap)
    return std::nullopt;
  return delivery{item.position, verdict == web_verdict::silent, m.web};
}

void remember_send(fifo<send_record>& sends, const send_record& r) {
  sends.push_back(r);
  if (sends.size() > send_log)
    sends.pop_front();
}

void note_pushes(push_notes notes, const std::vector<delivery>& batch,
                 uint64_t session_id, const char* transport, bool resend,
                 const user_key& user, spdlog::logger& logger) {
  auto now = unix_seconds_now();
  auto debug = logger.should_log(spdlog::level::debug);
  for (const auto& d : batch) {
    if (!resend && d.seq > notes.first_push_high) {
      notes.first_push_high = d.seq;
      auto committed = d.content->created_unix;
      metrics::delivery_sent(committed > 0 ? now - committed : -1.0);
    }
    remember_send(notes.sends,
                  {d.seq, d.message_id(), session_id, transport, now, resend});
    if (debug)
      logger.debug("{} message={} user={}/{} seq={} session={} ({})",
                   resend ? "resend" : "push", d.message_id(), user.app_id,
                   user.external_id, d.seq, session_id, transport);
  }
}

} // namespace herald::actors
