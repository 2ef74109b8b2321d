#include "net/api/static_files.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace herald::net::api {

namespace {

const char* content_type_of(const std::string& path) {
  static const std::pair<const char*, const char*> types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".ts", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
    {".md", "text/plain; charset=utf-8"},
  };
  auto dot = path.rfind('.');
  if (dot != std::string::npos && path.find('/', dot) == std::string::npos) {
    auto ext = path.substr(dot);
    for (const auto& [suffix, type] : types)
      if (ext == suffix)
        return type;
  }
  return "application/octet-stream";
}

// No "..", no empty or hidden segments: nothing outside the root and
// nothing like .git.
bool safe_path(const std::string& path) {
  if (path.empty() || path.front() != '/' ||
      path.find('\0') != std::string::npos)
    return false;
  std::istringstream segments{path.substr(1)};
  for (std::string segment; std::getline(segments, segment, '/');)
    if (!segment.empty() && segment.front() == '.')
      return false;
  return path.find("//") == std::string::npos;
}

std::string etag_of(const struct stat& info) {
  char tag[64];
  std::snprintf(tag, sizeof(tag), "\"%llx-%llx\"",
                static_cast<unsigned long long>(info.st_size),
                static_cast<unsigned long long>(info.st_mtim.tv_sec) *
                    1000000000ull +
                  static_cast<unsigned long long>(info.st_mtim.tv_nsec));
  return tag;
}

http_response not_found(const std::string& path) {
  return json_error(404, "not_found", "no route or file for " + path);
}

} // namespace

void add_static_files(router& routes, std::string root, std::string landing,
                      std::vector<std::string> hidden) {
  routes.set_fallback(
    [root = std::move(root), landing = std::move(landing),
     hidden = std::move(hidden)](http_request& req, responder respond) {
      for (const auto& prefix : hidden)
        if (req.path.compare(0, prefix.size(), prefix) == 0 ||
            req.path + "/" == prefix)
          return respond(not_found(req.path));
      if (req.path == "/" && !landing.empty()) {
        http_response res;
        res.status = 302;
        res.content_type = "text/plain; charset=utf-8";
        res.headers.emplace_back("Location", landing);
        return respond(std::move(res));
      }
      if (!safe_path(req.path))
        return respond(not_found(req.path));
      auto file = root + req.path;
      if (req.path.back() == '/')
        file += "index.html";
      struct stat info {};
      if (::stat(file.c_str(), &info) != 0)
        return respond(not_found(req.path));
      if (S_ISDIR(info.st_mode)) {
        // A folder: its index, at the URL with the slash, so that relative
        // links in the page resolve inside it.
        http_response res;
        res.status = 301;
        res.content_type = "text/plain; charset=utf-8";
        res.headers.emplace_back("Location", req.path + "/");
        return respond(std::move(res));
      }
      if (!S_ISREG(info.st_mode))
        return respond(not_found(req.path));
      auto etag = etag_of(info);
      http_response res;
      res.headers.emplace_back("Cache-Control", "no-cache");
      res.headers.emplace_back("ETag", etag);
      res.headers.emplace_back("X-Content-Type-Options", "nosniff");
      if (auto since = req.header("if-none-match"); since && *since == etag) {
        res.status = 304;
        res.content_type = content_type_of(file);
        return respond(std::move(res));
      }
      std::ifstream in{file, std::ios::binary};
      if (!in)
        return respond(not_found(req.path));
      std::ostringstream body;
      body << in.rdbuf();
      res.content_type = content_type_of(file);
      res.body = body.str();
      respond(std::move(res));
    });
}

} // namespace herald::net::api
