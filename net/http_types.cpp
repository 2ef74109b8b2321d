#include "net/http_types.hpp"

#include <nlohmann/json.hpp>

namespace herald::net {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in`; '+' means space only in query strings.
bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

} // namespace

std::optional<std::string_view>
http_request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name)
      return std::string_view{value};
  return std::nullopt;
}

http_response json_error(unsigned status, std::string_view code,
                         std::string_view message) {
  nlohmann::json body{
    {"error",
     {{"code", std::string{code}}, {"message", std::string{message}}}}};
  // A message may quote what a client sent (a path, a field): bytes that
  // are not UTF-8 become U+FFFD instead of making the error itself fail.
  return json_response(
    status,
    body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

http_response json_response(unsigned status, std::string body) {
  http_response res;
  res.status = status;
  res.body = std::move(body);
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

bool parse_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query) {
  if (target.empty() || target.front() != '/')
    return false;
  auto qpos = target.find('?');
  if (!percent_decode(target.substr(0, qpos), false, path))
    return false;
  query.clear();
  if (qpos == std::string_view::npos)
    return true;
  auto rest = target.substr(qpos + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest =
      amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    std::string key;
    std::string value;
    if (!percent_decode(pair.substr(0, eq), true, key))
      return false;
    if (eq != std::string_view::npos &&
        !percent_decode(pair.substr(eq + 1), true, value))
      return false;
    query.emplace(std::move(key), std::move(value));
  }
  return true;
}

} // namespace herald::net
