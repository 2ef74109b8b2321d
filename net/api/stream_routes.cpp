#include "net/api/stream_routes.hpp"

#include "core/app_directory.hpp"
#include "core/log.hpp"
#include "core/protocol.hpp"
#include "net/auth.hpp"
#include "net/detail/takeover.hpp"
#include "net/stream/poll_session.hpp"
#include "net/stream/sse_session.hpp"
#include "net/stream/websocket_session.hpp"
#include "net/websocket/handshake.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <caf/send.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace herald::net::api {

namespace {

namespace http = detail::http;
namespace beast = detail::beast;

std::optional<std::string_view> origin_of(const http_request& req) {
  return req.header("origin");
}

// A non-negative integer parameter, or nullopt when absent; throws
// std::invalid_argument naming the parameter when malformed.
std::optional<int64_t> int_param(const std::string& text, const char* name) {
  if (text.empty())
    return std::nullopt;
  size_t used = 0;
  long long value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < 0)
    throw std::invalid_argument(std::string{name} +
                                " must be a non-negative integer");
  return value;
}

std::string param(const http_request& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string{} : it->second;
}

class websocket_takeover : public detail::takeover {
public:
  explicit websocket_takeover(std::shared_ptr<const stream_context> ctx)
    : ctx_(std::move(ctx)) {}

  std::string route() const override { return "GET /v1/ws"; }

  bool matches(const http_request& req) const override {
    return req.path == "/v1/ws";
  }

  std::optional<http_response>
  take(http_request& req, http::request<http::string_body>& raw,
       detail::connection_stream& stream, beast::flat_buffer& buffer,
       detail::session_registry& registry) override {
    if (!beast::websocket::is_upgrade(raw))
      return json_error(426, "upgrade_required",
                        "/v1/ws is a WebSocket endpoint");
    if (req.header("sec-websocket-version") != websocket::version) {
      auto refused = json_error(426, "unsupported_version",
                                "herald speaks WebSocket version 13");
      refused.headers.emplace_back("Sec-WebSocket-Version",
                                   std::string{websocket::version});
      return refused;
    }
    auto key = req.header("sec-websocket-key");
    auto accept = key ? websocket::accept_for(*key) : std::nullopt;
    if (!accept)
      return json_error(400, "bad_handshake",
                        "Sec-WebSocket-Key must be 16 bytes in base64");
    auto offered = req.header("sec-websocket-protocol");
    if (!offered ||
        offered->find(protocol::subprotocol) == std::string_view::npos)
      return json_error(400, "subprotocol_required",
                        "ask for the herald.v1 subprotocol");
    auto outcome =
      authenticate(*ctx_->apps, token_of(req), origin_of(req), unix_now());
    if (!outcome.who)
      return outcome.error_response();
    auto session = std::make_shared<websocket_session>(
      std::move(stream), *ctx_, *outcome.who, req.remote_address, registry);
    // What the client sent after its request is its first frames.
    auto early = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    session->start(*accept, std::move(early));
    return std::nullopt;
  }

private:
  std::shared_ptr<const stream_context> ctx_;
};

class sse_takeover : public detail::takeover {
public:
  sse_takeover(std::shared_ptr<const stream_context> ctx,
               std::shared_ptr<sse_directory> directory)
    : ctx_(std::move(ctx)), directory_(std::move(directory)) {}

  std::string route() const override { return "GET /v1/stream"; }

  bool matches(const http_request& req) const override {
    return req.path == "/v1/stream";
  }

  std::optional<http_response>
  take(http_request& req, http::request<http::string_body>&,
       detail::connection_stream& stream, beast::flat_buffer&,
       detail::session_registry& registry) override {
    if (req.method != "GET")
      return json_error(405, "method_not_allowed", "use GET for /v1/stream");
    auto outcome =
      authenticate(*ctx_->apps, token_of(req), origin_of(req), unix_now());
    if (!outcome.who)
      return outcome.error_response();
    // Last-Event-ID: the header a browser resends, or a query parameter
    // for clients that cannot set headers.
    int64_t last_seq = 0;
    try {
      auto header = req.header("last-event-id");
      auto text = header ? std::string{*header} : param(req, "last_event_id");
      last_seq = int_param(text, "Last-Event-ID").value_or(0);
    } catch (const std::invalid_argument& e) {
      return json_error(400, "bad_last_event_id", e.what());
    }
    auto session = std::make_shared<sse_session>(
      std::move(stream), *ctx_, *outcome.who, req.remote_address, registry);
    directory_->add(session);
    auto origin = origin_of(req);
    session->start(last_seq, origin ? std::string{*origin} : std::string{},
                   param(req, "heartbeat") == "1");
    return std::nullopt;
  }

private:
  std::shared_ptr<const stream_context> ctx_;
  std::shared_ptr<sse_directory> directory_;
};

} // namespace

void add_stream_routes(server& srv, router& routes,
                       std::shared_ptr<const stream_context> ctx) {
  auto sse_sessions = std::make_shared<sse_directory>();
  // A rotated token secret ends the sessions its old tokens opened.
  ctx->apps->on_revocation([live = std::weak_ptr<detail::session_registry>(
                              srv.sessions())](std::vector<int64_t> ids) {
    if (auto sessions = live.lock()) {
      auto n = sessions->revoke(ids);
      if (n > 0)
        log::get("net")->info("token secret changed: {} live sessions "
                              "closed",
                              n);
    }
  });
  srv.add_takeover(std::make_shared<websocket_takeover>(ctx));
  srv.add_takeover(std::make_shared<sse_takeover>(ctx, sse_sessions));

  auto& io = srv.io();
  routes.add("GET", "/v1/poll", [ctx, &io](http_request& req, responder r) {
    auto outcome =
      authenticate(*ctx->apps, token_of(req), origin_of(req), unix_now());
    if (!outcome.who)
      return r(outcome.error_response());
    int64_t after = 0;
    int64_t wait = 25;
    try {
      after = int_param(param(req, "after"), "after").value_or(0);
      wait = int_param(param(req, "wait"), "wait").value_or(25);
    } catch (const std::invalid_argument& e) {
      return r(json_error(400, "bad_parameter", e.what()));
    }
    wait = std::min<int64_t>(wait, ctx->max_poll_wait.count());
    actors::user_key key{outcome.who->app_id, outcome.who->user};
    auto shard = ctx->shard_of(key);
    if (!shard)
      return r(json_error(503, "unavailable", "the engine is restarting"));
    auto session =
      std::make_shared<poll_session>(io, std::move(r), req.remote_address,
                                     after, key, shard, ctx->max_queued_bytes);
    session->start(std::chrono::seconds{wait});
  });

  routes.add(
    "POST", "/v1/ack", [ctx, sse_sessions](http_request& req, responder r) {
      auto outcome =
        authenticate(*ctx->apps, token_of(req), origin_of(req), unix_now());
      if (!outcome.who)
        return r(outcome.error_response());
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object())
        return r(json_error(400, "bad_json", "the body must be a JSON object"));
      auto session_id = body.find("session");
      auto seq = body.find("seq");
      if (session_id == body.end() || !session_id->is_number_unsigned())
        return r(json_error(400, "bad_field",
                            "session: the id from the welcome event"));
      if (seq == body.end() || !seq->is_number_integer() || *seq < 1)
        return r(json_error(400, "bad_field", "seq: a positive integer"));
      auto session = sse_sessions->find(session_id->get<uint64_t>());
      // Another user's stream is as unknown as one that does not exist.
      if (!session ||
          !session->belongs_to(outcome.who->app_id, outcome.who->user))
        return r(json_error(404, "unknown_session", "no such stream"));
      actors::user_key key{outcome.who->app_id, outcome.who->user};
      // A client bug must not cost messages: an ack past what this stream
      // was sent is refused and changes nothing.
      if (!session->note_ack(seq->get<int64_t>()))
        return r(json_error(400, "unknown_seq",
                            "seq: this stream was not sent " +
                              std::to_string(seq->get<int64_t>()) + " yet"));
      if (auto shard = ctx->shard_of(key))
        caf::anon_send(
          shard, actors::client_ack{key, session->id(), seq->get<int64_t>()});
      r(json_response(200, R"({"ok":true})"));
    });
}

} // namespace herald::net::api
