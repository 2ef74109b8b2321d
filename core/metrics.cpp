#include "core/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "core/handoff_scope.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <sstream>

namespace herald::metrics {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

struct instruments {
  std::shared_ptr<prometheus::Registry> registry =
    std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Gauge>& connections =
    BuildGauge()
      .Name("herald_connections")
      .Help("Open streaming sessions by transport")
      .Register(*registry);
  prometheus::Family<prometheus::Counter>& messages =
    BuildCounter()
      .Name("herald_messages_total")
      .Help("Outbox messages expanded, by outcome (processed, rejected)")
      .Register(*registry);
  prometheus::Family<prometheus::Counter>& deliveries =
    BuildCounter()
      .Name("herald_deliveries_total")
      .Help("Deliveries by event: recorded, suppressed, sent (the first "
            "push of a fresh delivery), acked, redelivered")
      .Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
    BuildHistogram()
      .Name("herald_commit_to_send_seconds")
      .Help("From a message's commit to its first push to a session")
      .Register(*registry);
  prometheus::Family<prometheus::Gauge>& api_pool =
    BuildGauge()
      .Name("herald_api_db_connections_in_use")
      .Help("Database connections of the HTTP API pool in use")
      .Register(*registry);

  prometheus::Family<prometheus::Counter>& provider_requests =
    BuildCounter()
      .Name("herald_provider_requests_total")
      .Help("SMS and mobile provider requests by channel and outcome: sent, "
            "retry (5xx, 429, no answer), refused (another 4xx), "
            "invalid_token")
      .Register(*registry);
  prometheus::Counter& processed = messages.Add({{"outcome", "processed"}});
  prometheus::Counter& rejected = messages.Add({{"outcome", "rejected"}});
  prometheus::Counter& recorded = deliveries.Add({{"event", "recorded"}});
  prometheus::Counter& suppressed = deliveries.Add({{"event", "suppressed"}});
  prometheus::Counter& sent = deliveries.Add({{"event", "sent"}});
  prometheus::Counter& acked = deliveries.Add({{"event", "acked"}});
  prometheus::Counter& redelivered = deliveries.Add({{"event", "redelivered"}});
  static constexpr std::array<double, 13> commit_to_send_bounds{
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  prometheus::Histogram& commit_to_send = latency.Add(
    {}, prometheus::Histogram::BucketBoundaries{commit_to_send_bounds.begin(),
                                                commit_to_send_bounds.end()});
  prometheus::Gauge& api_in_use = api_pool.Add({});

  std::mutex labelled_mutex;
  std::map<std::pair<std::string, std::string>, prometheus::Counter*>
    provider_outcomes;

  prometheus::Counter& provider_outcome(const char* channel,
                                        const char* outcome) {
    std::lock_guard<std::mutex> guard{labelled_mutex};
    auto& counter = provider_outcomes[{channel, outcome}];
    if (!counter)
      counter =
        &provider_requests.Add({{"channel", channel}, {"outcome", outcome}});
    return *counter;
  }

  std::mutex transports_mutex;
  std::map<std::string, prometheus::Gauge*> transports;

  prometheus::Gauge& transport(const char* name) {
    std::lock_guard<std::mutex> guard{transports_mutex};
    auto& gauge = transports[name];
    if (!gauge)
      gauge = &connections.Add({{"transport", name}});
    return *gauge;
  }
};

instruments& the() {
  static instruments instance;
  return instance;
}

// Prometheus label values escape backslash, quote and newline.
std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// First pushes counted on one thread while a handoff_scope is open there
// (a shard's fan-out of a batch), added to the shared counter and
// histogram when it ends: two updates of what every shard's thread writes,
// instead of up to three per push.
struct sent_tally {
  static constexpr auto bounds = instruments::commit_to_send_bounds;
  size_t sent = 0;
  size_t observed = 0;
  std::array<double, bounds.size() + 1> buckets{}; ///< the last: +Inf
  double sum = 0;

  void add(double seconds) {
    ++sent;
    if (seconds < 0)
      return;
    // As the histogram places a value: in the first bucket whose bound is
    // at or above it.
    auto bucket =
      std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
    buckets[static_cast<size_t>(bucket)] += 1;
    sum += seconds;
    ++observed;
  }
};

thread_local sent_tally tally;

void add_sent_tally() {
  auto taken = std::exchange(tally, {});
  auto& m = the();
  m.sent.Increment(static_cast<double>(taken.sent));
  if (taken.observed > 0)
    m.commit_to_send.ObserveMultiple(
      {taken.buckets.begin(), taken.buckets.end()}, taken.sum);
}

} // namespace

void connection_opened(const char* transport) {
  the().transport(transport).Increment();
}

void connection_closed(const char* transport) {
  the().transport(transport).Decrement();
}

void messages_expanded(size_t processed, size_t rejected, size_t deliveries,
                       size_t suppressed) {
  auto& m = the();
  m.processed.Increment(static_cast<double>(processed));
  m.rejected.Increment(static_cast<double>(rejected));
  m.recorded.Increment(static_cast<double>(deliveries));
  m.suppressed.Increment(static_cast<double>(suppressed));
}

void delivery_sent(double commit_to_send_seconds) {
  if (handoff_scope::open()) {
    tally.add(commit_to_send_seconds);
    handoff_scope::defer(&add_sent_tally);
    return;
  }
  auto& m = the();
  m.sent.Increment();
  if (commit_to_send_seconds >= 0)
    m.commit_to_send.Observe(commit_to_send_seconds);
}

void deliveries_acked(size_t count) {
  the().acked.Increment(static_cast<double>(count));
}

void deliveries_redelivered(size_t count) {
  the().redelivered.Increment(static_cast<double>(count));
}

void api_connections_in_use(int change) {
  the().api_in_use.Increment(change);
}

void provider_request(const char* channel, const char* outcome) {
  the().provider_outcome(channel, outcome).Increment();
}

std::string render(const std::vector<sample>& samples) {
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, the().registry->Collect());
  // Samples from the actor tree, grouped by name (one HELP/TYPE each).
  std::map<std::string, std::vector<const sample*>> by_name;
  for (const auto& s : samples)
    by_name[s.name].push_back(&s);
  for (const auto& [name, group] : by_name) {
    out << "# HELP " << name << ' ' << group.front()->help << '\n'
        << "# TYPE " << name << " gauge\n";
    for (const auto* s : group) {
      out << name;
      if (!s->labels.empty()) {
        out << '{';
        for (size_t i = 0; i < s->labels.size(); ++i)
          out << (i ? "," : "") << s->labels[i].first << "=\""
              << escape(s->labels[i].second) << '"';
        out << '}';
      }
      out << ' ' << s->value << '\n';
    }
  }
  return out.str();
}

} // namespace herald::metrics
