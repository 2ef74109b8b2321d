#define CAF_SUITE net.router

#include "net/router.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

using namespace herald::net;

namespace {

struct fixture {
  router routes;
  http_response last;

  fixture() {
    routes.add("GET", "/v1/messages/{id}", [](http_request& req, responder r) {
      r(json_response(200, nlohmann::json{{"id", req.params["id"]}}.dump()));
    });
    routes.add("DELETE", "/v1/messages/{id}",
               [](http_request&, responder r) { r(json_response(204, "")); });
    routes.add("GET", "/healthz",
               [](http_request&, responder r) { r(json_response(200, "{}")); });
  }

  http_response call(std::string method, std::string target) {
    http_request req;
    req.method = std::move(method);
    req.target = target;
    CAF_REQUIRE(parse_target(target, req.path, req.query));
    routes.dispatch(req, [this](http_response res) { last = std::move(res); });
    return last;
  }

  static std::string error_code(const http_response& res) {
    return nlohmann::json::parse(res.body)["error"]["code"];
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(router_tests, fixture)

CAF_TEST(placeholders capture decoded segments) {
  auto res = call("GET", "/v1/messages/a%20b?x=1");
  CAF_CHECK_EQUAL(res.status, 200u);
  CAF_CHECK_EQUAL(res.body, R"({"id":"a b"})");
}

CAF_TEST(unknown paths get a json 404) {
  auto res = call("GET", "/v1/nothing");
  CAF_CHECK_EQUAL(res.status, 404u);
  CAF_CHECK_EQUAL(error_code(res), "not_found");
  CAF_CHECK_EQUAL(call("GET", "/v1/messages/").status, 404u);
  CAF_CHECK_EQUAL(call("GET", "/v1/messages/1/extra").status, 404u);
}

CAF_TEST(an error quoting bytes that are not utf8 is still json) {
  auto res = json_error(400, "bad_field", std::string{"no user \"\xff\xfe\""});
  auto body = nlohmann::json::parse(res.body);
  CAF_CHECK_EQUAL(body["error"]["message"].get<std::string>(),
                  "no user \"\xef\xbf\xbd\xef\xbf\xbd\"");
}

CAF_TEST(a known path under another method gets 405 with allow) {
  auto res = call("PUT", "/v1/messages/7");
  CAF_CHECK_EQUAL(res.status, 405u);
  CAF_CHECK_EQUAL(error_code(res), "method_not_allowed");
  CAF_REQUIRE_EQUAL(res.headers.size(), 2u);
  CAF_CHECK_EQUAL(res.headers[1].first, "Allow");
  CAF_CHECK_EQUAL(res.headers[1].second, "GET, DELETE");
}

CAF_TEST(head is answered by the get handler) {
  CAF_CHECK_EQUAL(call("HEAD", "/healthz").status, 200u);
}

CAF_TEST(targets are split and decoded) {
  std::string path;
  std::map<std::string, std::string> query;
  CAF_REQUIRE(parse_target("/a/b?x=1&y=hello+world&z=%2F&flag", path, query));
  CAF_CHECK_EQUAL(path, "/a/b");
  CAF_CHECK_EQUAL(query["x"], "1");
  CAF_CHECK_EQUAL(query["y"], "hello world");
  CAF_CHECK_EQUAL(query["z"], "/");
  CAF_CHECK_EQUAL(query.count("flag"), 1u);
  CAF_CHECK(!parse_target("relative", path, query));
  CAF_CHECK(!parse_target("/bad%zz", path, query));
  CAF_CHECK(!parse_target("/cut%4", path, query));
}

CAF_TEST(routes are listed in order) {
  auto list = routes.routes();
  CAF_REQUIRE_EQUAL(list.size(), 3u);
  CAF_CHECK_EQUAL(list[0], "GET /v1/messages/{id}");
}

CAF_TEST_FIXTURE_SCOPE_END()
