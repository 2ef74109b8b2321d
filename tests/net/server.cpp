#define CAF_SUITE net.server

#include "net/server.hpp"

#include "fixtures/http_client.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <thread>

using namespace herald;
using namespace herald::net;

namespace {

struct fixture {
  std::shared_ptr<router> routes = std::make_shared<router>();
  std::unique_ptr<server> srv;
  uint16_t port = 0;

  fixture() {
    routes->add("GET", "/hello", [](http_request& req, responder r) {
      r(json_response(200, nlohmann::json{{"q", req.query["q"]}}.dump()));
    });
    routes->add("POST", "/echo", [](http_request& req, responder r) {
      r(json_response(200, req.body));
    });
    // Answers from another thread, later, as handlers that wait do.
    routes->add("GET", "/later", [](http_request&, responder r) {
      std::thread{[r] {
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
        r(json_response(200, R"({"late":true})"));
      }}.detach();
    });
    routes->add("GET", "/throws", [](http_request&, responder) {
      throw std::runtime_error("boom");
    });
    server_options opts;
    opts.port = 0;
    opts.body_limit = 1024;
    srv = std::make_unique<server>(opts, routes);
    srv->start();
    port = srv->port();
  }
};

std::string error_code(const test::http_result& res) {
  return nlohmann::json::parse(res.body)["error"]["code"];
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(server_tests, fixture)

CAF_TEST(requests are routed over a real socket) {
  auto res = test::http_request(port, "GET", "/hello?q=hi%21");
  CAF_CHECK_EQUAL(res.status, 200u);
  CAF_CHECK_EQUAL(res.body, R"({"q":"hi!"})");
  CAF_CHECK_EQUAL(res.headers["content-type"], "application/json");
  CAF_CHECK_EQUAL(test::http_request(port, "POST", "/echo", "abc").body, "abc");
  CAF_CHECK_EQUAL(test::http_request(port, "GET", "/later").body,
                  R"({"late":true})");
}

CAF_TEST(head answers headers only) {
  auto res = test::http_request(port, "HEAD", "/hello");
  CAF_CHECK_EQUAL(res.status, 200u);
  CAF_CHECK_EQUAL(res.body, "");
  CAF_CHECK_EQUAL(res.headers["content-length"], "8");
}

CAF_TEST(keep alive serves several requests on one connection) {
  auto answer = test::raw_exchange(
    port, "GET /hello?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /hello?q=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CAF_CHECK(answer.find(R"({"q":"1"})") != std::string::npos);
  CAF_CHECK(answer.find(R"({"q":"2"})") != std::string::npos);
}

CAF_TEST(an oversize body gets 413) {
  auto res = test::http_request(port, "POST", "/echo", std::string(4096, 'x'));
  CAF_CHECK_EQUAL(res.status, 413u);
  CAF_CHECK_EQUAL(error_code(res), "payload_too_large");
}

CAF_TEST(a malformed request gets 400) {
  auto answer = test::raw_exchange(port, "NOT HTTP AT ALL\r\n\r\n");
  CAF_CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
  CAF_CHECK(answer.find("bad_request") != std::string::npos);
}

CAF_TEST(a throwing handler gets 500 and the server goes on) {
  CAF_CHECK_EQUAL(test::http_request(port, "GET", "/throws").status, 500u);
  CAF_CHECK_EQUAL(test::http_request(port, "GET", "/hello").status, 200u);
}

CAF_TEST(stop closes idle keep alive connections) {
  CAF_CHECK_EQUAL(srv->session_count(), 0u);
  std::thread client{[this] {
    // Sends one request and keeps the connection open until the server
    // closes it.
    test::raw_exchange(port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  }};
  for (int i = 0; i < 100 && srv->session_count() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  CAF_CHECK_EQUAL(srv->session_count(), 1u);
  srv->stop();
  client.join(); // returns only because the server closed the connection
  CAF_CHECK_EQUAL(srv->session_count(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
