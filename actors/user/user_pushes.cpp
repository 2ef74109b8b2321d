#include "actors/user/user_pushes.hpp"

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

void note_pushes(push_notes notes, const std::vector<delivery>& batch,
                 const session_push& push, const user_key& user,
                 spdlog::logger& logger) {
  auto debug = logger.should_log(spdlog::level::debug);
  for (const auto& d : batch) {
    if (!push.resend && d.seq > notes.first_push_high) {
      notes.first_push_high = d.seq;
      auto committed = d.content->created_unix;
      metrics::delivery_sent(committed > 0 ? push.at - committed : -1.0);
    }
    notes.sends.push({d.seq, d.message_id(), push.session, push.transport,
                      push.at, push.resend});
    if (debug)
      logger.debug("{} message={} user={}/{} seq={} session={} ({})",
                   push.resend ? "resend" : "push", d.message_id(), user.app_id,
                   user.external_id, d.seq, push.session, push.transport);
  }
}

} // namespace herald::actors
