#include "tools/heraldctl/engine_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace herald::ctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

engine_client::engine_client(std::string base_url, std::string token)
  : base_url_(std::move(base_url)), token_(std::move(token)) {
  std::string rest = base_url_;
  if (rest.rfind("http://", 0) == 0)
    rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos)
    throw unreachable("only http:// URLs are supported: " + base_url_);
  if (auto slash = rest.find('/'); slash != std::string::npos)
    rest = rest.substr(0, slash);
  auto colon = rest.rfind(':');
  host_ = colon == std::string::npos ? rest : rest.substr(0, colon);
  port_ = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  while (!base_url_.empty() && base_url_.back() == '/')
    base_url_.pop_back();
}

std::string engine_client::request(const char* method, const std::string& path,
                                   const std::string& body) const {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  http::response<http::string_body> res;
  try {
    asio::ip::tcp::resolver resolver{ioc};
    stream.expires_after(std::chrono::seconds{10});
    stream.connect(resolver.resolve(host_, port_));
    http::request<http::string_body> req{http::string_to_verb(method), path,
                                         11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "heraldctl");
    req.set(http::field::authorization, "Bearer " + token_);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::read(stream, buffer, res);
  } catch (const beast::system_error& e) {
    throw unreachable("cannot reach the engine at " + base_url_ + ": " +
                      e.code().message());
  }
  beast::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  auto status = res.result_int();
  if (status >= 400) {
    auto error = nlohmann::json::parse(res.body(), nullptr, false);
    std::string message = res.body();
    if (error.is_object() && error.contains("error"))
      message = error["error"].value("code", std::string{}) + ": " +
                error["error"].value("message", std::string{});
    throw refused(status, std::to_string(status) + " " + message);
  }
  return std::move(res.body());
}

nlohmann::json engine_client::get(const std::string& path) const {
  return nlohmann::json::parse(request("GET", path, {}));
}

nlohmann::json engine_client::post(const std::string& path,
                                   const nlohmann::json& body) const {
  return nlohmann::json::parse(request("POST", path, body.dump()));
}

std::string engine_client::get_text(const std::string& path) const {
  return request("GET", path, {});
}

} // namespace herald::ctl
