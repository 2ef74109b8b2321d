#include "net/router.hpp"

#include <algorithm>

namespace herald::net {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  size_t start = 1; // skip the leading '/'
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool is_placeholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

} // namespace

void router::add(std::string method, std::string pattern, http_handler handler,
                 size_t body_limit) {
  auto segments = split_path(pattern);
  routes_.push_back(route{std::move(method), std::move(pattern),
                          std::move(segments), std::move(handler), body_limit});
}

bool router::match(const route& r, const std::vector<std::string>& segments,
                   std::map<std::string, std::string>& params) {
  if (r.segments.size() != segments.size())
    return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (is_placeholder(r.segments[i])) {
      if (segments[i].empty())
        return false;
      found[r.segments[i].substr(1, r.segments[i].size() - 2)] = segments[i];
    } else if (r.segments[i] != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

void router::dispatch(http_request& req, responder respond) const {
  auto segments = split_path(req.path);
  std::string allowed;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> params;
    if (!match(r, segments, params))
      continue;
    // HEAD is answered by the GET handler; the session drops the body.
    if (r.method == req.method || (req.method == "HEAD" && r.method == "GET")) {
      req.params = std::move(params);
      r.handler(req, std::move(respond));
      return;
    }
    allowed += (allowed.empty() ? "" : ", ") + r.method;
  }
  if (!allowed.empty()) {
    auto res = json_error(405, "method_not_allowed",
                          req.method + " is not allowed on " + req.path +
                            "; allowed: " + allowed);
    res.headers.emplace_back("Allow", allowed);
    respond(std::move(res));
    return;
  }
  if (fallback_ && (req.method == "GET" || req.method == "HEAD")) {
    fallback_(req, std::move(respond));
    return;
  }
  respond(json_error(404, "not_found", "no route for " + req.path));
}

size_t router::body_limit(const std::string& method,
                          const std::string& path) const {
  auto segments = split_path(path);
  std::map<std::string, std::string> params;
  for (const auto& r : routes_)
    if (r.method == method && match(r, segments, params))
      return r.body_limit;
  return 0;
}

size_t router::largest_body_limit() const {
  size_t largest = 0;
  for (const auto& r : routes_)
    largest = std::max(largest, r.body_limit);
  return largest;
}

std::vector<std::string> router::routes() const {
  std::vector<std::string> result;
  for (const auto& r : routes_)
    result.push_back(r.method + " " + r.pattern);
  return result;
}

} // namespace herald::net
