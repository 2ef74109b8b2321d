#pragma once

// What every push to a user involves, whoever makes it (the user's actor,
// or its shard while the user is passive): the user's policy decides
// whether and how a feed item goes out, and each push is noted for traces
// and the metrics.

#include "actors/user/messages.hpp"
#include "actors/user/user_snapshot.hpp"
#include "core/delivery.hpp"
#include "core/web_policy.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald::actors {

/// The web delivery of a message feed item for a user with `policy`, or
/// nothing when the policy leaves it out (opted out, over an hourly cap).
/// Counts toward the caps: call it once per item, in position order.
std::optional<delivery> web_delivery(web_policy& policy, const feed_item& item);

/// Where a user's pushes are noted: its send log and the newest position
/// it ever pushed (what is above is a first push, the one the
/// commit-to-send latency measures).
struct push_notes {
  send_log& sends;
  int64_t& first_push_high;
};

/// One batch's push to one session, as the send log records it.
struct session_push {
  uint64_t session = 0;
  const char* transport = ""; ///< session_sink::transport(): a literal
  bool resend = false;
  double at = 0; ///< unix seconds
};

/// Notes `batch`, pushed as `push` says: each push in the send log, each
/// first push in the metrics, and (at debug level) in `logger`.
void note_pushes(push_notes notes, const std::vector<delivery>& batch,
                 const session_push& push, const user_key& user,
                 spdlog::logger& logger);

} // namespace herald::actors
