#include "actors/channel/channel_sender.hpp"

#include "actors/channel/provider_adapter.hpp"
#include "actors/type_ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "storage/channel_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/group.hpp>
#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <random>
#include <thread>

namespace herald::actors {

namespace {

using channel::verdict;
using clock = std::chrono::steady_clock;

/// Spaces requests to one provider at its messages-per-second rate, with
/// a burst of one second's worth.
struct pacer {
  double per_second = 10;
  double tokens = 0;
  clock::time_point updated = clock::now();

  /// Blocks until one request may go.
  void take() {
    auto now = clock::now();
    std::chrono::duration<double> elapsed = now - updated;
    updated = now;
    double burst = std::max(1.0, per_second);
    tokens = std::min(burst, tokens + elapsed.count() * per_second);
    if (tokens < 1) {
      std::this_thread::sleep_for(
        std::chrono::duration<double>((1 - tokens) / per_second));
      tokens = 1;
      updated = clock::now();
    }
    tokens -= 1;
  }
};

struct sender_state {
  std::string channel;
  channel_options options;
  std::unique_ptr<storage::channel_store> store;
  std::map<int64_t, storage::provider_config> providers;
  clock::time_point providers_read{};
  std::map<int64_t, pacer> pacers; ///< by app id
  std::mt19937_64 random{std::random_device{}()};
  bool tick_scheduled = false;
  // For inspection.
  size_t sent = 0;
  size_t retried = 0;
  size_t dead = 0;
  size_t failed = 0;
  std::string last_error;
  static inline const char* name = "channel_sender";
};

using sender_actor = caf::stateful_actor<sender_state>;

// Provider settings change rarely; re-read them every few seconds.
void refresh_providers(sender_state& st) {
  auto now = clock::now();
  if (now - st.providers_read < std::chrono::seconds{2})
    return;
  st.providers = st.store->providers(st.channel);
  st.providers_read = now;
  for (const auto& [app, provider] : st.providers)
    st.pacers[app].per_second = provider.rate_per_second;
}

struct attempt_result {
  verdict what = verdict::sent;
  std::string error;
  std::optional<std::chrono::milliseconds> retry_after;
};

// Makes every call of one delivery and merges their answers: any retry
// retries the delivery (the calls that went through are deduplicated by
// their idempotency keys), else any sent is sent, else a refusal is final.
attempt_result send_all(sender_actor* self,
                        const storage::provider_config& provider,
                        const storage::claimed_delivery& d,
                        const channel::prepared_delivery& prepared) {
  auto& st = self->state;
  auto logger = log::get("channel");
  bool any_sent = false;
  bool any_retry = false;
  attempt_result refusal{verdict::invalid_token, {}, {}};
  attempt_result retry{verdict::retry, {}, {}};
  for (const auto& call : prepared.calls) {
    st.pacers[d.app_id].take();
    channel::judged_answer judged;
    try {
      judged =
        channel::judge(provider.kind, channel::send_request(call.request),
                       std::chrono::system_clock::now());
    } catch (const channel::transport_error& e) {
      judged = {verdict::retry, e.what(), {}};
    } catch (const std::invalid_argument& e) {
      judged = {verdict::refused, e.what(), {}};
    }
    switch (judged.what) {
      case verdict::sent:
        any_sent = true;
        metrics::provider_request(st.channel.c_str(), "sent");
        break;
      case verdict::retry:
        any_retry = true;
        retry = {verdict::retry, judged.error, judged.retry_after};
        metrics::provider_request(st.channel.c_str(), "retry");
        break;
      case verdict::invalid_token:
        metrics::provider_request(st.channel.c_str(), "invalid_token");
        logger->info("{} provider of app {} called device {} invalid; "
                     "unregistering it",
                     st.channel, d.app, call.device_id);
        st.store->unregister_device(call.device_id);
        if (refusal.what == verdict::invalid_token)
          refusal.error = judged.error;
        break;
      case verdict::refused:
        metrics::provider_request(st.channel.c_str(), "refused");
        refusal = {verdict::refused, judged.error, {}};
        break;
    }
  }
  if (any_retry)
    return retry;
  if (any_sent)
    return {verdict::sent, {}, {}};
  return refusal;
}

void handle(sender_actor* self, const storage::claimed_delivery& d) {
  auto& st = self->state;
  auto logger = log::get("channel");
  auto give_up = [&](const char* state, const std::string& code,
                     const std::string& why) {
    st.store->give_up(d.id, state, code, why);
    ++(std::string{state} == "dead" ? st.dead : st.failed);
    st.last_error = why;
    logger->debug("{} give-up message={} delivery={} state={} reason={}",
                  st.channel, d.message_id, d.id, state, code);
  };
  auto provider = st.providers.find(d.app_id);
  if (provider == st.providers.end())
    return give_up("failed", "no_provider",
                   "app \"" + d.app + "\" has no " + st.channel + " provider");
  auto prepared = channel::prepare(provider->second, d);
  if (prepared.calls.empty())
    return give_up("failed", prepared.failure_code, prepared.failure);

  auto result = send_all(self, provider->second, d, prepared);
  switch (result.what) {
    case verdict::sent:
      st.store->mark_sent(d.id);
      ++st.sent;
      logger->debug("{} sent message={} delivery={} attempt={}", st.channel,
                    d.message_id, d.id, d.attempts);
      return;
    case verdict::invalid_token:
      return give_up("failed", "no_device",
                     "every device token was invalid: " + result.error);
    case verdict::refused:
      return give_up("dead", "provider_refused", result.error);
    case verdict::retry:
      break;
  }
  if (d.attempts >= provider->second.max_attempts) {
    return give_up("dead", "max_attempts",
                   "gave up after " + std::to_string(d.attempts) +
                     " attempts; last: " + result.error);
  }
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto delay =
    st.options.backoff.delay(d.attempts, unit(st.random), result.retry_after);
  st.store->retry_later(d.id, delay, result.error);
  ++st.retried;
  st.last_error = result.error;
  logger->debug("{} retry message={} delivery={} attempt={} in={}ms: {}",
                st.channel, d.message_id, d.id, d.attempts, delay.count(),
                result.error);
}

// Claims and sends until nothing is due, a few batches per turn so that
// the mailbox (inspection, exit) is not starved by a long backlog.
void drain(sender_actor* self) {
  auto& st = self->state;
  constexpr int batches_per_turn = 5;
  try {
    if (auto digests = st.store->release_digests(st.channel))
      log::get("channel")->debug("{}: {} digest(s) due", st.channel, digests);
    for (int i = 0; i < batches_per_turn; ++i) {
      refresh_providers(st);
      auto batch =
        st.store->claim(st.channel, st.options.batch_size, st.options.lease);
      for (const auto& d : batch)
        handle(self, d);
      if (batch.size() < st.options.batch_size)
        return;
    }
    self->send(self, wake_atom_v);
  } catch (const std::exception& e) {
    // Claimed rows come back when their lease runs out.
    st.last_error = e.what();
    log::get("channel")->warn("{}: {}", st.channel, e.what());
  }
}

caf::behavior sender(sender_actor* self, std::string channel,
                     channel_options options) {
  auto& st = self->state;
  st.channel = std::move(channel);
  st.options = std::move(options);
  st.store = std::make_unique<storage::channel_store>(st.options.database_url);
  self->join(self->system().groups().get_local(channel_group(st.channel)));
  self->send(self, tick_atom_v);
  return {
    [self](wake_atom) { drain(self); },
    [self](tick_atom) {
      drain(self);
      self->delayed_send(self, self->state.options.poll_interval, tick_atom_v);
    },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{{"kind", "channel"},
                            {"channel", st.channel},
                            {"id", self->id()},
                            {"providers", st.providers.size()},
                            {"sent", st.sent},
                            {"retried", st.retried},
                            {"dead", st.dead},
                            {"failed", st.failed},
                            {"last_error", st.last_error},
                            {"mailbox", self->mailbox().size()}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_channel_sender(caf::event_based_actor* parent,
                                std::string channel, channel_options options) {
  return parent->spawn<caf::detached>(sender, std::move(channel),
                                      std::move(options));
}

} // namespace herald::actors
