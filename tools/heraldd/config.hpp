#pragma once

#include <caf/actor_system_config.hpp>

#include <cstdint>
#include <string>

namespace herald::tools {

/// heraldd's configuration: INI file (herald.ini, or --config-file=...)
/// and command line (--http.port=8081), grouped by subsystem.
class config : public caf::actor_system_config {
public:
  config();

  // [http]
  std::string http_address = "127.0.0.1";
  uint16_t http_port = 8080;
  size_t http_threads = 2;
  size_t http_body_limit = 1 << 20;
  size_t http_import_body_limit = 64 << 20;
  std::string http_tls_cert;
  std::string http_tls_key;
  caf::timespan http_header_timeout = std::chrono::seconds{10};

  // [database]
  std::string database_url;
  caf::timespan readiness_interval = std::chrono::seconds{1};

  // [ingest]
  caf::timespan ingest_poll_interval = std::chrono::seconds{1};
  size_t ingest_batch_size = 500;
  size_t ingest_expanders = 1;

  // [delivery]
  /// Half the cores, at least one (config.cpp says why).
  size_t user_shards = 0;
  caf::timespan ack_timeout = std::chrono::seconds{5};
  caf::timespan passivate_after = std::chrono::milliseconds{250};
  size_t max_unacked = 256;
  size_t max_sessions = 16;
  size_t max_queued_bytes = 4 * 1024 * 1024;
  size_t max_frame_bytes = 64 * 1024;
  caf::timespan write_timeout = std::chrono::seconds{10};
  caf::timespan hello_timeout = std::chrono::seconds{10};
  caf::timespan ping_interval = std::chrono::seconds{45};
  caf::timespan ping_timeout = std::chrono::seconds{10};
  // docs/design.md ("The write delay") says why 10 ms.
  caf::timespan write_delay = std::chrono::milliseconds{10};

  // [api]
  size_t api_threads = 4;
  double api_rate_limit = 50;
  double api_rate_burst = 100;
  caf::timespan api_token_ttl = std::chrono::hours{1};

  // [channels]: SMS and mobile push senders.
  size_t channel_senders = 1;
  caf::timespan channel_poll_interval = std::chrono::seconds{1};
  caf::timespan channel_lease = std::chrono::minutes{5};
  caf::timespan channel_retry_base = std::chrono::seconds{2};
  caf::timespan channel_retry_max = std::chrono::minutes{10};

  // [admin]
  std::string admin_token;
  std::string admin_token_file;
  std::string admin_address = "127.0.0.1";
  uint16_t admin_port = 8081;

  // [log]
  std::string log_level = "info";

  // [web]
  std::string web_root = "web";
  std::string web_demo_app;

  /// Shortest admin token accepted: a short one is guessed, throttling or
  /// not.
  static constexpr size_t min_admin_token = 16;

  /// Fills what neither file nor command line gave from the environment
  /// (HERALD_DATABASE_URL), reads admin.token-file, and returns an error text
  /// for what is still missing or invalid; empty when the configuration is
  /// usable.
  std::string finish();
};

} // namespace herald::tools
