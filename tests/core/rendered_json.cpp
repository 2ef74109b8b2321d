#define CAF_SUITE core.rendered_json

#include "core/rendered_json.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

using namespace herald;
using json = nlohmann::json;

namespace {

compiled_template compile(template_source source) {
  auto compiled = compiled_template::compile(source);
  if (auto err = std::get_if<template_error>(&compiled))
    CAF_FAIL("compile failed: " << err->message);
  return std::get<compiled_template>(compiled);
}

json render(const compiled_template& tmpl, std::string_view vars) {
  auto result = render_json(tmpl, vars, {});
  if (auto err = std::get_if<template_error>(&result))
    CAF_FAIL("render failed: " << err->message);
  return json::parse(std::get<std::string>(result));
}

} // namespace

CAF_TEST(channels are stored with their texts) {
  auto tmpl = compile(
    {"Hi {{name}}", "<b>{{name}}</b>", "Hi {{name}}", "", "{{name}}", {}});
  auto out = render(tmpl, R"({"name":"A&B"})");
  CAF_CHECK_EQUAL(out["web"]["title"], "Hi A&amp;B");
  CAF_CHECK_EQUAL(out["web"]["body"], "<b>A&amp;B</b>");
  CAF_CHECK_EQUAL(out["sms"]["body"], "Hi A&B");
  CAF_CHECK(!out["sms"].contains("title"));
  CAF_CHECK_EQUAL(out["mobile"]["title"], "");
  CAF_CHECK_EQUAL(out["mobile"]["body"], "A&B");
}

CAF_TEST(vars that are not a json object are refused) {
  auto tmpl = compile({"", "{{x}}", "", "", "", {}});
  for (const char* vars : {"", "{", "[1]", "null", "\"x\""}) {
    auto result = render_json(tmpl, vars, {});
    auto err = std::get_if<template_error>(&result);
    CAF_REQUIRE(err != nullptr);
    CAF_CHECK_EQUAL(err->code, "vars_not_object");
  }
}

// Found by fuzzing: a template text that is not UTF-8 made render_json
// throw from json::dump(), failing the template actor's request.
CAF_TEST(template bytes that are not utf8 are replaced) {
  auto tmpl = compile({"", "caf\xe9 {{x}} \xfe", "\xc3", "", "", {}});
  auto out = render(tmpl, R"({"x":"ok"})");
  CAF_CHECK_EQUAL(out["web"]["body"], "caf\xef\xbf\xbd ok \xef\xbf\xbd");
  CAF_CHECK_EQUAL(out["sms"]["body"], "\xef\xbf\xbd");
}
