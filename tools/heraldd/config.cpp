#include "tools/heraldd/config.hpp"

#include <caf/atom.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace herald::tools {

config::config() {
  // CAF's default work-stealing workers poll with short sleeps when idle,
  // which costs a core's worth of wake-ups with thousands of idle sessions
  // (docs/performance.md). Work sharing waits on a condition variable.
  // --scheduler.policy=stealing brings the other back.
  set("scheduler.policy", caf::atom("sharing"));
  // CAF starts at least four workers. On a machine with fewer cores the
  // extra ones only hand work around: one worker per core took 7 % less
  // CPU per delivery in fan-out on two cores.
  set("scheduler.max-threads",
      static_cast<size_t>(std::max(2u, std::thread::hardware_concurrency())));
  // Every batch the tailer reads goes to every user shard, so each shard is
  // one more actor to schedule per batch. On two cores, one shard took 9 %
  // less CPU per delivery than four in fan-out at 50,000/s (7.59 against
  // 8.34 µs); a bigger machine gets more, to fan out in parallel.
  user_shards = std::max<size_t>(1, std::thread::hardware_concurrency() / 2);
  opt_group{custom_options_, "http"}
    .add(http_address, "address", "address of the public listener")
    .add(http_port, "port", "port of the public listener (0: any free port)")
    .add(http_threads, "threads", "I/O threads serving connections")
    .add(http_body_limit, "body-limit", "largest request body in bytes")
    .add(http_import_body_limit, "import-body-limit",
         "largest body of POST /v1/import (NDJSON) in bytes")
    .add(http_tls_cert, "tls-cert",
         "PEM certificate chain: the port then speaks TLS as well as plain "
         "HTTP")
    .add(http_tls_key, "tls-key", "PEM private key of tls-cert")
    .add(http_header_timeout, "header-timeout",
         "a request's head must arrive within this (slow clients are closed; "
         "idle keep-alive connections too)");
  opt_group{custom_options_, "database"}
    .add(database_url, "url",
         "PostgreSQL URL (default: the HERALD_DATABASE_URL variable)")
    .add(readiness_interval, "readiness-interval",
         "how often the database is checked for /readyz");
  opt_group{custom_options_, "ingest"}
    .add(ingest_poll_interval, "poll-interval",
         "outbox poll when no NOTIFY arrives (the safety net)")
    .add(ingest_batch_size, "batch-size", "outbox rows per transaction")
    .add(ingest_expanders, "expanders",
         "expander actors claiming in parallel (0: deliver only what other "
         "engines expand)");
  opt_group{custom_options_, "delivery"}
    .add(user_shards, "user-shards", "user shard actors")
    .add(ack_timeout, "ack-timeout", "first resend after this without an ack")
    .add(passivate_after, "passivate-after",
         "a user actor with nothing in flight this long leaves its state "
         "with its shard and stops (0: never)")
    .add(max_unacked, "max-unacked", "messages in flight per session")
    .add(max_sessions, "max-sessions", "live sessions per user")
    .add(max_queued_bytes, "max-queued-bytes",
         "bytes queued for one session before it is closed (slow consumer)")
    .add(write_timeout, "write-timeout",
         "a write stalled this long closes the session (slow consumer)")
    .add(hello_timeout, "hello-timeout",
         "a WebSocket without hello by then is closed (4003)")
    .add(max_frame_bytes, "max-frame-bytes",
         "largest client frame (bigger: close 1009)")
    .add(ping_interval, "ping-interval",
         "heartbeat of WebSocket (ping) and SSE (comment line) sessions")
    .add(ping_timeout, "ping-timeout",
         "a WebSocket that answers no ping within this is closed")
    .add(write_delay, "write-delay",
         "after a WebSocket write, messages that come within this wait and "
         "go out together: fewer system calls for busy connections, up to "
         "this much latency (0: written at once)");
  opt_group{custom_options_, "api"}
    .add(api_threads, "threads",
         "threads and database connections running HTTP API calls")
    .add(api_rate_limit, "rate-limit", "requests per second per API key")
    .add(api_rate_burst, "rate-burst", "requests per API key at once")
    .add(api_token_ttl, "token-ttl",
         "lifetime of user tokens minted by POST /v1/tokens");
  opt_group{custom_options_, "channels"}
    .add(channel_senders, "senders",
         "sender actors per channel (sms, mobile); 0 turns both channels off")
    .add(channel_poll_interval, "poll-interval",
         "how often due sms and mobile deliveries are looked for")
    .add(channel_lease, "lease",
         "a claimed delivery is retried after this if its sender died")
    .add(channel_retry_base, "retry-base",
         "the first retry's wait after a failed provider request (doubling)")
    .add(channel_retry_max, "retry-max", "the longest wait between retries");
  opt_group{custom_options_, "admin"}
    .add(admin_token, "token",
         "bearer token of the operator's admin API, debug endpoints and "
         "metrics, at least 16 characters (empty: all off); prefer "
         "token-file: the command line shows in ps")
    .add(admin_token_file, "token-file",
         "file holding the admin token (its first line)")
    .add(admin_address, "address",
         "address of the admin listener (keep it on loopback)")
    .add(admin_port, "port", "port of the admin listener (0: any free port)");
  opt_group{custom_options_, "log"}.add(
    log_level, "level", "trace, debug, info, warn, error, critical or off");
  opt_group{custom_options_, "web"}
    .add(web_root, "root", "folder of the static web files (empty: none)")
    .add(web_demo_app, "demo-app",
         "development only: POST /v1/demo/token mints tokens of this app "
         "for anyone");
}

std::string config::finish() {
  if (database_url.empty())
    if (auto env = std::getenv("HERALD_DATABASE_URL"))
      database_url = env;
  if (database_url.empty())
    return "no database: set database.url in the config file, pass "
           "--database.url=URL or set HERALD_DATABASE_URL";
  if (http_tls_cert.empty() != http_tls_key.empty())
    return "http.tls-cert and http.tls-key go together: set both or neither";
  if (http_threads == 0)
    return "http.threads must be at least 1";
  if (user_shards == 0 || user_shards > 9999)
    return "delivery.user-shards must be between 1 and 9999";
  if (max_unacked == 0 || max_sessions == 0)
    return "delivery.max-unacked and delivery.max-sessions must be positive";
  if (ingest_batch_size == 0)
    return "ingest.batch-size must be at least 1";
  if (api_threads == 0)
    return "api.threads must be at least 1";
  if (api_rate_limit <= 0 || api_rate_burst < 1)
    return "api.rate-limit must be positive and api.rate-burst at least 1";
  if (ping_interval <= caf::timespan::zero() ||
      ping_timeout <= caf::timespan::zero())
    return "delivery.ping-interval and delivery.ping-timeout must be "
           "positive";
  // Longer, a held message would near the ack timeout and the heartbeat.
  if (write_delay < caf::timespan::zero() ||
      write_delay > std::chrono::seconds{1})
    return "delivery.write-delay must be between 0 and 1s";
  if (http_header_timeout <= caf::timespan::zero())
    return "http.header-timeout must be positive";
  if (!admin_token_file.empty()) {
    if (!admin_token.empty())
      return "admin.token and admin.token-file go alone: set one of them";
    std::ifstream file{admin_token_file};
    if (!file)
      return "admin.token-file: cannot read " + admin_token_file;
    std::getline(file, admin_token);
    // Editors and `echo` leave a line end or blanks behind.
    while (!admin_token.empty() &&
           std::isspace(static_cast<unsigned char>(admin_token.back())))
      admin_token.pop_back();
    if (admin_token.empty())
      return "admin.token-file: " + admin_token_file +
             " holds no token on its first line";
  }
  if (!admin_token.empty() && admin_token.size() < min_admin_token)
    return "the admin token must be at least " +
           std::to_string(min_admin_token) + " characters long (it has " +
           std::to_string(admin_token.size()) + "); e.g. openssl rand -hex 24";
  return {};
}

} // namespace herald::tools
