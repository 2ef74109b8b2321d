#include "net/detail/http_session.hpp"

#include "core/log.hpp"

#include <boost/beast/core/detect_ssl.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace herald::net::detail {

namespace {

std::string lower(beast::string_view in) {
  std::string out{in.data(), in.size()};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

} // namespace

void fail(beast::error_code ec, const char* what) {
  // Normal ends of a connection, not worth a line in the log.
  if (ec == asio::error::operation_aborted || ec == beast::error::timeout ||
      ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == asio::error::connection_reset || ec == ssl::error::stream_truncated)
    return;
  log::get("net")->debug("{}: {}", what, ec.message());
}

http_session::http_session(session_socket&& socket,
                           std::shared_ptr<const router> routes,
                           std::shared_ptr<const takeover_list> takeovers,
                           const server_options& options,
                           session_registry& registry)
  : stream_(std::move(socket)), routes_(std::move(routes)),
    takeovers_(std::move(takeovers)), options_(options), registry_(registry) {
  beast::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec)
    remote_address_ = endpoint.address().to_string();
}

http_session::~http_session() {
  registry_.remove(registry_id_);
}

void http_session::run() {
  registry_id_ = registry_.add(weak_from_this());
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->options_.tls)
      return self->do_read();
    // A TLS ClientHello or the first bytes of an HTTP request: the bytes
    // read to tell stay in buffer_ for whichever comes next.
    self->stream_.next_layer().expires_after(self->options_.header_timeout);
    beast::async_detect_ssl(
      self->stream_.next_layer(), self->buffer_,
      beast::bind_front_handler(&http_session::on_detect, self));
  });
}

void http_session::on_detect(beast::error_code ec, bool is_tls) {
  if (ec)
    return fail(ec, "detect tls");
  if (!is_tls)
    return do_read();
  stream_.start_tls(*options_.tls);
  stream_.next_layer().expires_after(options_.header_timeout);
  stream_.tls().async_handshake(
    ssl::stream_base::server, buffer_.data(),
    beast::bind_front_handler(&http_session::on_handshake, shared_from_this()));
}

void http_session::on_handshake(beast::error_code ec, std::size_t used) {
  if (ec)
    return fail(ec, "tls handshake");
  buffer_.consume(used);
  do_read();
}

void http_session::close() {
  // The server is stopping: no lingering, and a read may be pending, which
  // closing the socket cancels.
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closed_ = true;
    self->stream_.close_now();
  });
}

void http_session::do_read() {
  parser_.emplace();
  // Beast refuses a Content-Length over the limit while it reads the head,
  // before the route is known: the head is read under the largest limit
  // of any route, the body under its own route's (on_read_header).
  parser_->body_limit(
    std::max(options_.body_limit, routes_->largest_body_limit()));
  // One deadline for the whole head, not per byte: a client that trickles
  // it (slowloris) is cut off as surely as a silent one.
  stream_.next_layer().expires_after(options_.header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(
                            &http_session::on_read_header, shared_from_this()));
}

void http_session::on_read_header(beast::error_code ec, std::size_t bytes) {
  if (ec || parser_->is_done())
    return on_read(ec, bytes);
  auto limit = body_limit_of(parser_->get());
  auto length = parser_->content_length();
  if (length && *length > limit)
    return on_read(http::error::body_limit, bytes);
  // Chunked bodies are counted as they arrive.
  parser_->body_limit(limit);
  stream_.next_layer().expires_after(options_.idle_timeout);
  http::async_read(
    stream_, buffer_, *parser_,
    beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream)
    return do_close();
  if (ec == http::error::body_limit)
    return write_error_and_close(413, "payload_too_large",
                                 "request body exceeds the limit");
  if (ec) {
    // A malformed request gets an answer; a dropped connection does not.
    if (&ec.category() ==
        &http::make_error_code(http::error::bad_target).category())
      return write_error_and_close(400, "bad_request", "malformed request");
    return fail(ec, "read");
  }
  handle(parser_->release());
}

size_t http_session::body_limit_of(
  const http::request<http::string_body>& head) const {
  std::string path;
  std::map<std::string, std::string> query;
  if (!parse_target(
        std::string_view{head.target().data(), head.target().size()}, path,
        query))
    return options_.body_limit;
  auto own = routes_->body_limit(std::string{head.method_string()}, path);
  return own ? own : options_.body_limit;
}

void http_session::handle(http::request<http::string_body>&& raw) {
  keep_alive_ = raw.keep_alive();
  head_request_ = raw.method() == http::verb::head;
  http_request req;
  req.method = std::string{raw.method_string()};
  req.target = std::string{raw.target()};
  req.remote_address = remote_address_;
  if (!parse_target(req.target, req.path, req.query))
    return write_error_and_close(400, "bad_target",
                                 "request target is not a valid path");
  for (const auto& field : raw)
    req.headers.emplace_back(lower(field.name_string()),
                             std::string{field.value()});
  for (const auto& handler : *takeovers_) {
    if (!handler->matches(req))
      continue;
    stream_.next_layer().expires_never();
    auto refusal = handler->take(req, raw, stream_, buffer_, registry_);
    if (refusal) {
      keep_alive_ = false;
      head_request_ = false;
      write(std::move(*refusal));
    }
    // Otherwise the connection belongs to the handler now.
    return;
  }
  req.body = std::move(raw.body());
  // The handler may answer from any thread and at any time: hop back onto
  // this session's executor to write.
  auto self = shared_from_this();
  responder respond = [self](http_response res) {
    asio::post(
      self->stream_.get_executor(),
      [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
  };
  try {
    routes_->dispatch(req, std::move(respond));
  } catch (const std::exception& e) {
    log::get("net")->error("handler for {} {} threw: {}", req.method, req.path,
                           e.what());
    write(json_error(500, "internal", "internal error"));
  }
}

void http_session::write(http_response res) {
  auto msg = std::make_shared<http::response<http::string_body>>();
  msg->version(11);
  msg->result(res.status);
  msg->set(http::field::server, "herald");
  msg->set(http::field::content_type, res.content_type);
  for (auto& [name, value] : res.headers)
    msg->set(name, value);
  msg->keep_alive(keep_alive_);
  if (head_request_) {
    // The GET answer's length, and no body: the serializer writes only
    // what the (empty) body holds.
    msg->content_length(res.body.size());
  } else {
    msg->body() = std::move(res.body);
    msg->prepare_payload();
  }
  response_in_flight_ = msg;
  stream_.next_layer().expires_after(options_.write_timeout);
  http::async_write(stream_, *msg,
                    beast::bind_front_handler(&http_session::on_write,
                                              shared_from_this(), keep_alive_));
}

void http_session::on_write(bool keep_alive, beast::error_code ec,
                            std::size_t) {
  response_in_flight_.reset();
  if (ec)
    return fail(ec, "write");
  if (!keep_alive)
    return do_close();
  do_read();
}

void http_session::write_error_and_close(unsigned status, const char* code,
                                         const char* message) {
  keep_alive_ = false;
  head_request_ = false;
  write(json_error(status, code, message));
}

void http_session::do_close() {
  // Only after a write, with no read pending: the lingering close reads.
  if (closed_)
    return;
  closed_ = true;
  stream_.async_close(std::chrono::seconds{5}, [self = shared_from_this()] {});
}

} // namespace herald::net::detail
