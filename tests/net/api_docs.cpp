#define CAF_SUITE net.api_docs

#include "core/app_directory.hpp"
#include "core/readiness.hpp"
#include "net/api/debug_routes.hpp"
#include "net/api/demo_routes.hpp"
#include "net/api/health_routes.hpp"
#include "net/api/http_api.hpp"
#include "net/api/stream_routes.hpp"
#include "net/server.hpp"
#include "net/stream/stream_context.hpp"

#include <caf/test/unit_test.hpp>

#include <fstream>
#include <regex>
#include <set>

using namespace herald;

namespace {

// "### METHOD /path" headings of docs/api.md.
std::set<std::string> documented_routes() {
  std::ifstream docs{HERALD_SOURCE_DIR "/docs/api.md"};
  CAF_REQUIRE(docs.good());
  std::regex heading{R"(^### (GET|POST|PUT|PATCH|DELETE) (/\S*)\s*$)"};
  std::set<std::string> routes;
  std::smatch m;
  for (std::string line; std::getline(docs, line);)
    if (std::regex_match(line, m, heading))
      routes.insert(m[1].str() + " " + m[2].str());
  return routes;
}

// Everything heraldd serves, wired as heraldd wires it.
std::set<std::string> served_routes() {
  auto routes = std::make_shared<net::router>();
  net::api::add_health_routes(*routes, std::make_shared<readiness_board>());
  net::api::http_api_options opts;
  opts.database_url = "postgresql:///unused"; // connects on first call only
  opts.threads = 1;
  opts.apps = std::make_shared<app_directory>();
  net::api::http_api api{opts};
  api.add_routes(*routes, net::api::http_api::audience::all);
  net::api::add_demo_routes(*routes, opts.apps, "demo",
                            std::chrono::seconds{60});
  net::api::add_debug_routes(*routes,
                             std::make_shared<net::api::debug_context>());
  net::server srv{net::server_options{}, routes};
  auto ctx = std::make_shared<net::stream_context>();
  ctx->apps = opts.apps;
  net::api::add_stream_routes(srv, *routes, ctx);
  auto all = srv.routes();
  return {all.begin(), all.end()};
}

} // namespace

CAF_TEST(every route is documented and every documented route exists) {
  auto documented = documented_routes();
  auto served = served_routes();
  CAF_CHECK_GREATER(served.size(), 25u);
  std::string undocumented;
  for (const auto& route : served)
    if (!documented.count(route))
      undocumented += route + "; ";
  std::string unserved;
  for (const auto& route : documented)
    if (!served.count(route))
      unserved += route + "; ";
  CAF_CHECK_EQUAL(undocumented, "");
  CAF_CHECK_EQUAL(unserved, "");
}
