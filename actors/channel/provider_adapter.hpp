#pragma once

// What a provider is sent for one delivery, and what its answer means.
// Pure functions: the channel sender does the sending and the bookkeeping.

#include "actors/channel/outbound_http.hpp"
#include "storage/channel_store.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace herald::actors::channel {

/// One request for a delivery; mobile makes one per device.
struct provider_call {
  outbound_request request;
  int64_t device_id = 0; ///< mobile only
};

/// The requests to make, or why there is nothing to send to.
struct prepared_delivery {
  std::vector<provider_call> calls;
  std::string failure_code; ///< set when calls is empty
  std::string failure;
};

/// Builds the provider requests for `d`: a webhook SMS from the provider's
/// body shape, or one FCM HTTP v1 send per device. Every request carries
/// an Idempotency-Key that stays the same over retries.
prepared_delivery prepare(const storage::provider_config& provider,
                          const storage::claimed_delivery& d);

enum class verdict {
  sent,          ///< 2xx
  retry,         ///< 5xx, 429, no answer: try again later
  refused,       ///< another 4xx: retrying would not help
  invalid_token, ///< the provider says this device token is gone
};

struct judged_answer {
  verdict what = verdict::sent;
  std::string error; ///< for the delivery's reason; never holds credentials
  std::optional<std::chrono::milliseconds> retry_after;
};

/// What `answer` from a provider of `kind` means. `now` is for a
/// Retry-After given as an HTTP date.
judged_answer judge(const std::string& kind, const outbound_response& answer,
                    std::chrono::system_clock::time_point now);

/// Retry-After as seconds or an HTTP date; nothing when unreadable.
std::optional<std::chrono::milliseconds>
parse_retry_after(const std::string& value,
                  std::chrono::system_clock::time_point now);

} // namespace herald::actors::channel
