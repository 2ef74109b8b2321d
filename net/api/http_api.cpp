#include "net/api/http_api.hpp"

#include "core/api_error.hpp"
#include "core/app_directory.hpp"
#include "core/jwt.hpp"
#include "core/log.hpp"
#include "core/rate_limiter.hpp"
#include "core/sha256.hpp"
#include "net/api/api_route.hpp"
#include "net/api/ndjson_body.hpp"
#include "net/auth.hpp"
#include "storage/api_gateway.hpp"
#include "storage/app_catalog.hpp"
#include "storage/error.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

namespace herald::net::api {

namespace {

using nlohmann::json;

http_response error_response(const api_error& e) {
  json error{{"code", e.code()}, {"message", e.what()}};
  if (!e.hint().empty())
    error["hint"] = e.hint();
  return json_response(e.status(), json{{"error", error}}.dump());
}

/// A ready-made refusal (the admin check's).
struct refused {
  http_response response;
};

/// 429, with when to try again.
struct rate_limited : api_error {
  explicit rate_limited(int64_t seconds)
    : api_error{429, "rate_limited",
                "too many requests for this API key; retry in " +
                  std::to_string(seconds) + " s"},
      retry_after(seconds) {}
  int64_t retry_after;
};

} // namespace

struct http_api::impl {
  explicit impl(http_api_options opts)
    : options(std::move(opts)),
      gateway(options.database_url, std::max<size_t>(1, options.threads)),
      catalog(options.database_url),
      limits(options.rate_limit, options.rate_burst),
      pool(std::max<size_t>(1, options.threads)) {}

  http_api_options options;
  storage::api_gateway gateway;
  std::mutex catalog_mutex;
  storage::app_catalog catalog;
  rate_limiter limits;
  boost::asio::thread_pool pool;
  std::atomic<bool> accepting{false};
  std::atomic<bool> stopped{false};

  /// Who calls, as the database call needs it.
  struct credentials {
    std::optional<int64_t> app_id; ///< user calls: from the token
    std::string key_hash;          ///< app calls
  };

  credentials check_caller(const api_route& route, const http_request& req,
                           json& args) {
    credentials who;
    switch (route.who) {
      case caller::admin:
        if (auto refusal = options.admin->check(req))
          throw refused{std::move(*refusal)};
        break;
      case caller::app: {
        auto key = bearer_of(req);
        if (key.empty())
          throw api_error{401, "missing_api_key",
                          "send Authorization: Bearer <API key>"};
        who.key_hash = sha256_hex(key);
        auto wait = limits.acquire(who.key_hash, rate_limiter::clock::now());
        if (wait > rate_limiter::clock::duration::zero()) {
          throw rate_limited{
            std::chrono::duration_cast<std::chrono::seconds>(wait).count() + 1};
        }
        break;
      }
      case caller::user: {
        auto outcome = authenticate(*options.apps, token_of(req),
                                    req.header("origin"), unix_now());
        if (!outcome.who)
          throw refused{outcome.error_response()};
        who.app_id = outcome.who->app_id;
        args["user"] = outcome.who->user;
        break;
      }
    }
    return who;
  }

  /// The route's database call; `body` is the request body when the
  /// route takes NDJSON (its lines become args.lines, those that are not
  /// JSON are reported with the database's answer).
  json run(const api_route& route, const credentials& who, const json& args,
           const std::optional<std::string>& content_type,
           const std::string& body) {
    if (route.format == body_format::json)
      return call(route, who, args.dump(), args);
    auto lines = parse_ndjson(content_type, body);
    return with_line_errors(call(route, who, lines.args, args), lines.errors,
                            lines.error_count);
  }

  json call(const api_route& route, const credentials& who,
            const std::string& args_text, const json& args) {
    auto text = route.who == caller::app
                  ? gateway.call_as_app(who.key_hash, route.function, args_text)
                  : gateway.call(route.function, who.app_id, args_text);
    auto result = json::parse(text);
    if (route.changes_apps) {
      std::lock_guard<std::mutex> guard{catalog_mutex};
      options.apps->replace(catalog.load());
    }
    return route.finish ? route.finish(std::move(result), args) : result;
  }

  void handle(const std::shared_ptr<impl>& self, const api_route& route,
              http_request& req, responder respond) {
    credentials who;
    json args;
    std::optional<std::string> content_type;
    std::string body;
    try {
      args = request_args(route, req.params, req.query,
                          req.header("content-type"), req.body);
      who = check_caller(route, req, args);
      if (route.idempotency_header)
        if (auto key = req.header("idempotency-key"))
          args["idempotency_key"] = std::string{*key};
      // Split on the pool, not on an I/O thread: it may be megabytes.
      if (route.format == body_format::ndjson) {
        if (auto type = req.header("content-type"))
          content_type.emplace(*type);
        body = std::move(req.body);
      }
    } catch (refused& r) {
      return respond(std::move(r.response));
    } catch (const rate_limited& e) {
      auto res = error_response(e);
      res.headers.emplace_back("Retry-After", std::to_string(e.retry_after));
      return respond(std::move(res));
    } catch (const api_error& e) {
      return respond(error_response(e));
    }
    if (!accepting)
      return respond(json_error(503, "unavailable",
                                stopped ? "the engine is stopping"
                                        : "the engine is starting"));
    boost::asio::post(
      pool, [self, &route, who = std::move(who), args = std::move(args),
             content_type = std::move(content_type), body = std::move(body),
             respond = std::move(respond)] {
        try {
          respond(json_response(
            route.status,
            self->run(route, who, args, content_type, body).dump()));
        } catch (const api_error& e) {
          respond(error_response(e));
        } catch (const storage::error& e) {
          log::get("api")->error("{} {}: {}", route.method, route.pattern,
                                 e.what());
          if (e.code() == storage::errc::unreachable)
            respond(json_error(503, "database_unavailable",
                               "the database cannot be reached; retry"));
          else
            respond(json_error(500, "internal", "internal error"));
        } catch (const std::exception& e) {
          log::get("api")->error("{} {}: {}", route.method, route.pattern,
                                 e.what());
          respond(json_error(500, "internal", "internal error"));
        }
      });
  }

  json mint_token(json secret, const json& args) const {
    auto ttl = args.contains("ttl_seconds")
                 ? args["ttl_seconds"].get<int64_t>()
                 : static_cast<int64_t>(options.token_ttl.count());
    auto now = unix_now();
    json claims{{"sub", args["user"]},
                {"aud", secret["app"]},
                {"iat", now},
                {"exp", now + ttl}};
    return {{"token", jwt::sign_hs256(
                        claims, secret["token_secret"].get<std::string>())},
            {"user", args["user"]},
            {"expires_at", now + ttl}};
  }
};

http_api::http_api(http_api_options options)
  : impl_(std::make_shared<impl>(std::move(options))) {}

http_api::~http_api() {
  stop();
}

void http_api::add_routes(router& routes, audience who) {
  // The table lives as long as the handlers that point into it.
  auto table = std::make_shared<std::vector<api_route>>(
    api_routes([self = impl_.get()](json secret, const json& args) {
      return self->mint_token(std::move(secret), args);
    }));
  for (const auto& route : *table)
    if (who == audience::all || route.who != caller::admin)
      routes.add(
        route.method, route.pattern,
        [self = impl_, table, &route](http_request& req, responder r) {
          self->handle(self, route, req, std::move(r));
        },
        route.format == body_format::ndjson ? impl_->options.import_body_limit
                                            : 0);
}

void http_api::open() {
  impl_->accepting = true;
}

void http_api::stop() {
  impl_->accepting = false;
  if (impl_->stopped.exchange(true))
    return;
  impl_->pool.join();
}

} // namespace herald::net::api
