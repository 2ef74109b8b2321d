#pragma once

#include "core/fwd.hpp"
#include "net/router.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace herald::net {
class admin_guard;
} // namespace herald::net

namespace herald::net::api {

struct http_api_options {
  std::string database_url;
  /// Threads (and database connections) running API calls: the calls
  /// block on PostgreSQL, so they never run on the I/O threads.
  size_t threads = 4;
  /// Checks the operator's bearer token for /v1/admin (403 for every admin
  /// route when it holds no token). Shared with the debug routes, so that
  /// wrong tokens are throttled across all of them.
  std::shared_ptr<admin_guard> admin;
  /// Requests per second per API key, and the burst allowed above that.
  double rate_limit = 50;
  double rate_burst = 100;
  /// The largest body of POST /v1/import (NDJSON); every other route
  /// keeps the server's body limit.
  size_t import_body_limit = 64 << 20;
  /// Lifetime of tokens minted by POST /v1/tokens unless asked otherwise.
  std::chrono::seconds token_ttl{3600};
  /// The apps user tokens are checked against; reloaded at once when an
  /// admin call changes an app.
  std::shared_ptr<app_directory> apps;
};

/// The JSON API of docs/api.md: admin, app and user routes, each checked
/// and then run as one database function call on a small pool of threads.
class http_api {
public:
  explicit http_api(http_api_options options);
  ~http_api();

  http_api(const http_api&) = delete;
  http_api& operator=(const http_api&) = delete;

  /// Which routes add_routes() adds.
  enum class audience {
    everyone, ///< app and user routes: the public listener
    all,      ///< those and the operator's: the admin listener
  };

  /// Adds the routes; `routes` must not outlive this object's stop(). The
  /// operator's routes (/v1/admin/...) only on the admin listener: on the
  /// public port they do not exist.
  void add_routes(router& routes, audience who);

  /// Starts taking calls (until then they get 503): once the schema the
  /// calls need is migrated.
  void open();

  /// Finishes the calls in progress; later requests get 503.
  void stop();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace herald::net::api
