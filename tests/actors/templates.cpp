#define CAF_SUITE actors.templates

#include "actors/messages.hpp"
#include "actors/supervisor.hpp"
#include "actors/template/template_registry.hpp"
#include "actors/type_ids.hpp"
#include "fixtures/actor_system.hpp"

#include <nlohmann/json.hpp>

using namespace herald;
using namespace herald::actors;

namespace {

struct fixture : test::actor_fixture {
  caf::actor sup;

  fixture() {
    std::vector<child_spec> children{
      {"registry",
       [](caf::event_based_actor* parent) {
         return spawn_template_registry(parent);
       },
       restart_policy::permanent},
    };
    sup = sys.spawn(supervisor, std::string{"templates"}, supervisor_options{},
                    std::move(children));
    run();
  }

  ~fixture() override {
    // The registry's name entry holds it alive: stop the tree explicitly.
    self->send_exit(sup, caf::exit_reason::user_shutdown);
    run();
  }

  caf::actor registry() {
    return sys.registry().get<caf::actor>(names::templates);
  }

  static render_request request_for(int64_t template_id, std::string body,
                                    std::string vars) {
    auto source = std::make_shared<template_source>();
    source->web_title = "Hello";
    source->web_body = std::move(body);
    render_request req;
    req.app_id = 1;
    req.code = "greeting";
    req.template_id = template_id;
    req.source = std::move(source);
    req.vars_json = std::move(vars);
    return req;
  }

  render_result render(render_request req) {
    return request<render_result>(registry(), std::move(req));
  }

  nlohmann::json inspect(const caf::actor& hdl) {
    return nlohmann::json::parse(request<std::string>(hdl, inspect_atom_v));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(template_tests, fixture)

CAF_TEST(the registry registers itself and renders through template actors) {
  CAF_REQUIRE(registry() != nullptr);
  auto result = render(request_for(7, "Hi {{name}}", R"({"name":"<Ada>"})"));
  CAF_CHECK_EQUAL(result.error_code, "");
  auto rendered = nlohmann::json::parse(result.rendered_json);
  CAF_CHECK_EQUAL(rendered["web"]["body"].get<std::string>(), "Hi &lt;Ada&gt;");
  CAF_CHECK_EQUAL(rendered["web"]["title"].get<std::string>(), "Hello");
  auto state = inspect(registry());
  CAF_REQUIRE_EQUAL(state["children"].size(), 1u);
  CAF_CHECK_EQUAL(state["children"][0]["name"].get<std::string>(),
                  "1/greeting");
}

CAF_TEST(a template actor keeps its compiled version until another comes) {
  render(request_for(7, "v7 {{name}}", R"({"name":"a"})"));
  // Same version id: the compiled form is reused, not the new source.
  auto same = render(request_for(7, "ignored", R"({"name":"b"})"));
  CAF_CHECK_EQUAL(
    nlohmann::json::parse(same.rendered_json)["web"]["body"].get<std::string>(),
    "v7 b");
  auto next = render(request_for(8, "v8 {{name}}", R"({"name":"c"})"));
  CAF_CHECK_EQUAL(
    nlohmann::json::parse(next.rendered_json)["web"]["body"].get<std::string>(),
    "v8 c");
}

CAF_TEST(render failures come back as codes) {
  auto missing = render(request_for(7, "Hi {{name}}", R"({})"));
  CAF_CHECK_EQUAL(missing.error_code, "missing_variable");
  auto bad_vars = render(request_for(7, "Hi {{name}}", "[1]"));
  CAF_CHECK_EQUAL(bad_vars.error_code, "vars_not_object");
  auto broken = render(request_for(9, "Hi {{#x}}", R"({"x":1})"));
  CAF_CHECK_EQUAL(broken.error_code, "template_invalid");
}

CAF_TEST(a crashed template actor is replaced on the next request) {
  render(request_for(7, "Hi {{name}}", R"({"name":"a"})"));
  auto before = inspect(registry())["children"][0]["id"].get<uint64_t>();
  self->send(registry(), crash_atom_v, int64_t{1}, std::string{"greeting"});
  run();
  CAF_CHECK_EQUAL(inspect(registry())["children"].size(), 0u);
  auto result = render(request_for(7, "Hi {{name}}", R"({"name":"b"})"));
  CAF_CHECK_EQUAL(result.error_code, "");
  auto after = inspect(registry())["children"][0]["id"].get<uint64_t>();
  CAF_CHECK_NOT_EQUAL(before, after);
}

CAF_TEST(a crashed registry is restarted and registers again) {
  auto old = registry();
  self->send_exit(old, caf::exit_reason::kill);
  run();
  auto fresh = registry();
  CAF_REQUIRE(fresh != nullptr);
  CAF_CHECK_NOT_EQUAL(fresh, old);
  auto result = render(request_for(7, "Hi {{name}}", R"({"name":"a"})"));
  CAF_CHECK_EQUAL(result.error_code, "");
}

CAF_TEST_FIXTURE_SCOPE_END()
