#include "actors/channel/outbound_http.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>

namespace herald::actors::channel {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t max_answer_bytes = 1 << 20;

// One async step run to completion on the private io_context: Beast's
// timeouts (expires_at) only apply to asynchronous operations.
template <class Start>
beast::error_code run_step(asio::io_context& ioc, Start&& start) {
  beast::error_code result = asio::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

[[noreturn]] void fail(const std::string& what, beast::error_code ec,
                       std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout)
    throw transport_error(what + ": no answer within " +
                          std::to_string(timeout.count()) + " ms");
  throw transport_error(what + ": " + ec.message());
}

ssl::context& client_tls_context() {
  static ssl::context ctx = [] {
    ssl::context c{ssl::context::tls_client};
    c.set_default_verify_paths();
    c.set_verify_mode(ssl::verify_peer);
    return c;
  }();
  return ctx;
}

template <class Stream>
outbound_response exchange(asio::io_context& ioc, Stream& stream,
                           const parsed_url& url, const outbound_request& req) {
  http::request<http::string_body> message{http::string_to_verb(req.method),
                                           url.target, 11};
  message.set(http::field::host, url.host);
  message.set(http::field::user_agent, "herald");
  message.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : req.headers)
    message.set(name, value);
  message.body() = req.body;
  message.prepare_payload();

  if (auto ec = run_step(ioc, [&](auto handler) {
        http::async_write(stream, message, handler);
      }))
    fail("sending the request", ec, req.timeout);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_answer_bytes);
  if (auto ec = run_step(ioc, [&](auto handler) {
        http::async_read(stream, buffer, parser, handler);
      }))
    fail("reading the answer", ec, req.timeout);

  auto& answer = parser.get();
  outbound_response out;
  out.status = answer.result_int();
  out.body = std::move(answer.body());
  if (auto it = answer.find(http::field::retry_after); it != answer.end())
    out.retry_after = std::string{it->value()};
  return out;
}

} // namespace

parsed_url parse_url(const std::string& url) {
  parsed_url out;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    throw std::invalid_argument("not an http(s) URL: " + url);
  }
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
    out.port = out.tls ? "443" : "80";
  }
  if (out.host.empty() || out.port.empty())
    throw std::invalid_argument("no host in URL: " + url);
  return out;
}

outbound_response send_request(const outbound_request& req) {
  auto url = parse_url(req.url);
  asio::io_context ioc;
  auto deadline = std::chrono::steady_clock::now() + req.timeout;

  tcp::resolver resolver{ioc};
  tcp::resolver::results_type endpoints;
  if (auto ec = run_step(ioc, [&](auto handler) {
        resolver.async_resolve(
          url.host, url.port,
          [&endpoints, handler](beast::error_code e,
                                tcp::resolver::results_type r) mutable {
            endpoints = std::move(r);
            handler(e);
          });
      }))
    fail("resolving " + url.host, ec, req.timeout);

  if (!url.tls) {
    beast::tcp_stream stream{ioc};
    stream.expires_at(deadline);
    if (auto ec = run_step(
          ioc, [&](auto handler) { stream.async_connect(endpoints, handler); }))
      fail("connecting", ec, req.timeout);
    auto out = exchange(ioc, stream, url, req);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return out;
  }

  beast::ssl_stream<beast::tcp_stream> stream{ioc, client_tls_context()};
  beast::get_lowest_layer(stream).expires_at(deadline);
  // SNI, and the certificate must name the host.
  SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  if (auto ec = run_step(ioc, [&](auto handler) {
        beast::get_lowest_layer(stream).async_connect(endpoints, handler);
      }))
    fail("connecting", ec, req.timeout);
  if (auto ec = run_step(ioc, [&](auto handler) {
        stream.async_handshake(ssl::stream_base::client, handler);
      }))
    fail("TLS handshake", ec, req.timeout);
  auto out = exchange(ioc, stream, url, req);
  // The answer is in; a polite close may not take long.
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds{1});
  run_step(ioc, [&](auto handler) { stream.async_shutdown(handler); });
  return out;
}

} // namespace herald::actors::channel
