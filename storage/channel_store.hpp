#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald::storage {

/// An app's provider for one channel (schema/0007_channels.sql).
struct provider_config {
  int64_t app_id = 0;
  std::string channel; ///< "sms" or "mobile"
  std::string kind;    ///< "webhook" or "fcm"
  std::string url;
  std::string auth_header;     ///< a credential: never log it
  std::string body_shape_json; ///< webhook only; empty: the default shape
  double rate_per_second = 10;
  int max_attempts = 5;
  std::chrono::milliseconds timeout{10000};
};

/// A device mobile push goes to.
struct device {
  int64_t id = 0;
  std::string token;
};

/// One delivery an sms or mobile sender claimed, with what it needs to send.
struct claimed_delivery {
  int64_t id = 0;
  int64_t message_id = 0;
  int64_t app_id = 0;
  std::string app;
  int attempts = 0; ///< including the one about to be made
  std::optional<std::string> phone;
  std::vector<device> devices;
  std::string content_json; ///< the channel's rendered texts, or "null"
  std::string vars_json;
  std::string priority;
};

/// What the sms and mobile senders need from the database: claim due
/// deliveries (SKIP LOCKED, leased), read providers, record outcomes.
/// Blocking: used by detached actors. One connection, reopened after it
/// breaks.
class channel_store {
public:
  explicit channel_store(std::string database_url);
  ~channel_store();

  channel_store(const channel_store&) = delete;
  channel_store& operator=(const channel_store&) = delete;

  /// Up to `limit` due deliveries of `channel`, each leased for `lease`.
  std::vector<claimed_delivery> claim(const std::string& channel, size_t limit,
                                      std::chrono::milliseconds lease);

  /// The providers of `channel` by app id.
  std::map<int64_t, provider_config> providers(const std::string& channel);

  /// Outcomes; each returns false when the delivery was no longer pending.
  bool mark_sent(int64_t delivery_id);
  bool retry_later(int64_t delivery_id, std::chrono::milliseconds delay,
                   const std::string& error);
  /// `state`: "dead" (refused, or out of attempts) or "failed" (nothing to
  /// send to).
  bool give_up(int64_t delivery_id, const std::string& state,
               const std::string& code, const std::string& error);

  /// Turns digested deliveries of `channel` whose hour is over into digest
  /// deliveries; returns how many it made.
  int release_digests(const std::string& channel);

  /// Forgets a device token a provider called invalid.
  void unregister_device(int64_t device_id);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
