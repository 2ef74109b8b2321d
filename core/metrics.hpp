#pragma once

// The engine's Prometheus metrics (GET /metrics), behind plain functions so
// that code which counts does not include prometheus-cpp. One process-wide
// registry, as Prometheus clients do; every function is thread-safe.

#include <cstddef>
#include <string>
#include <vector>

namespace herald::metrics {

/// A streaming session opened or closed ("websocket", "sse", "poll").
void connection_opened(const char* transport);
void connection_closed(const char* transport);

/// One expander transaction: outbox messages processed (accepted) and
/// rejected, deliveries recorded and those suppressed by policy.
void messages_expanded(size_t processed, size_t rejected, size_t deliveries,
                       size_t suppressed);

/// A delivery pushed to a session for the first time, `seconds` after its
/// message was committed (negative: not known). While a handoff_scope is
/// open on the calling thread, counted there and added when it ends.
void delivery_sent(double commit_to_send_seconds);
void deliveries_acked(size_t count);
void deliveries_redelivered(size_t count);

/// A database connection of the HTTP API's pool taken (+1) or given back.
void api_connections_in_use(int change);

/// One request to an SMS or mobile provider ("sms", "mobile") and its
/// outcome ("sent", "retry", "refused", "invalid_token").
void provider_request(const char* channel, const char* outcome);

/// A value read at scrape time (from the actor tree): rendered as a gauge.
struct sample {
  std::string name; ///< e.g. "herald_supervisor_mailbox"
  std::string help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

/// Everything in the Prometheus text format, with `samples` as gauges.
std::string render(const std::vector<sample>& samples);

} // namespace herald::metrics
