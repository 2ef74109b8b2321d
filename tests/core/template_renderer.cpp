#define CAF_SUITE core.template_renderer

#include "core/template_renderer.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

using namespace herald;

namespace {

using channel_map = std::map<std::string, rendered_channel>;
using strings = std::vector<std::string>;

struct fixture {
  static compiled_template compile_ok(const template_source& source) {
    auto result = compiled_template::compile(source);
    if (auto err = std::get_if<template_error>(&result))
      CAF_FAIL("compile failed: " << err->code << ": " << err->message);
    return std::get<compiled_template>(std::move(result));
  }

  static template_error compile_error(const template_source& source) {
    auto result = compiled_template::compile(source);
    CAF_REQUIRE(std::holds_alternative<template_error>(result));
    return std::get<template_error>(std::move(result));
  }

  static channel_map render_ok(const compiled_template& tmpl,
                               const nlohmann::json& vars,
                               const strings& only = {}) {
    channel_map out;
    auto result = tmpl.render(vars, only);
    if (auto* err = std::get_if<template_error>(&result))
      CAF_FAIL("render failed: " << err->code << ": " << err->message);
    else
      out.swap(std::get<channel_map>(result));
    return out;
  }

  static template_error render_error(const compiled_template& tmpl,
                                     const nlohmann::json& vars,
                                     const strings& only = {}) {
    auto result = tmpl.render(vars, only);
    CAF_REQUIRE(std::holds_alternative<template_error>(result));
    return std::get<template_error>(std::move(result));
  }

  /// Body of the sms channel of a template made of `body` alone.
  static std::string sms(const std::string& body, const nlohmann::json& vars) {
    template_source source;
    source.sms_body = body;
    auto out = render_ok(compile_ok(source), vars);
    return out.at("sms").body;
  }

  /// Body of the web channel of a template made of `body` alone.
  static std::string web(const std::string& body, const nlohmann::json& vars) {
    template_source source;
    source.web_body = body;
    auto out = render_ok(compile_ok(source), vars);
    return out.at("web").body;
  }

  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(template_renderer_tests, fixture)

CAF_TEST(web texts are html escaped unless marked raw) {
  template_source source;
  source.web_title = "Hi {{name}}";
  source.web_body = "<p>{{x}}</p>|{{{x}}}|{{&x}}|{{ & x }}";
  source.sms_body = "{{name}}: {{x}}";
  source.mobile_title = "{{name}}";
  source.mobile_body = "{{x}}";
  auto tmpl = compile_ok(source);
  nlohmann::json vars{{"x", "<b>"}, {"name", "Tom & \"Jerry\" 'J'"}};
  auto out = render_ok(tmpl, vars);
  CAF_REQUIRE_EQUAL(out.size(), 3u);
  CAF_CHECK_EQUAL(out["web"].title,
                  "Hi Tom &amp; &quot;Jerry&quot; &apos;J&apos;");
  CAF_CHECK_EQUAL(out["web"].body, "<p>&lt;b&gt;</p>|<b>|<b>|<b>");
  CAF_CHECK_EQUAL(out["sms"].title, "");
  CAF_CHECK_EQUAL(out["sms"].body, "Tom & \"Jerry\" 'J': <b>");
  CAF_CHECK_EQUAL(out["mobile"].title, "Tom & \"Jerry\" 'J'");
  CAF_CHECK_EQUAL(out["mobile"].body, "<b>");
}

CAF_TEST(values are never parsed as templates) {
  nlohmann::json vars{{"x", "{{y}}"}, {"y", "no"}};
  CAF_CHECK_EQUAL(sms("{{x}}", vars), "{{y}}");
  CAF_CHECK_EQUAL(web("{{{x}}}", vars), "{{y}}");
}

CAF_TEST(sections iterate arrays and objects) {
  nlohmann::json vars = nlohmann::json::parse(R"({
    "items": [{"name": "a", "qty": 1}, {"name": "b", "qty": 2}],
    "tags": ["x", "y", 3],
    "none": [],
    "user": {"name": "Ann", "address": {"city": "Oslo"}}
  })");
  CAF_CHECK_EQUAL(sms("{{#items}}[{{name}}x{{qty}}]{{/items}}", vars),
                  "[ax1][bx2]");
  CAF_CHECK_EQUAL(sms("{{#tags}}<{{.}}>{{/tags}}", vars), "<x><y><3>");
  CAF_CHECK_EQUAL(sms("a{{#none}}never{{/none}}b", vars), "ab");
  CAF_CHECK_EQUAL(sms("{{#user}}{{name}} in {{address.city}}{{/user}}", vars),
                  "Ann in Oslo");
  CAF_CHECK_EQUAL(sms("{{user.address.city}}", vars), "Oslo");
  // Inside a section, names not found in the item resolve at the top.
  nlohmann::json outer{{"shop", "S"}, {"items", {{{"n", 1}}, {{"n", 2}}}}};
  CAF_CHECK_EQUAL(sms("{{#items}}{{shop}}{{n}} {{/items}}", outer), "S1 S2 ");
}

CAF_TEST(sections test booleans) {
  const std::string text = "{{#vip}}VIP {{/vip}}{{^vip}}regular {{/vip}}end";
  CAF_CHECK_EQUAL(sms(text, {{"vip", true}}), "VIP end");
  CAF_CHECK_EQUAL(sms(text, {{"vip", false}}), "regular end");
}

CAF_TEST(inverted sections accept an absent variable) {
  template_source source;
  source.sms_body = "{{^coupon}}no coupon{{/coupon}}";
  auto tmpl = compile_ok(source);
  CAF_CHECK(tmpl.variables().empty());
  auto out = render_ok(tmpl, nlohmann::json::object());
  CAF_CHECK_EQUAL(out["sms"].body, "no coupon");
  CAF_CHECK_EQUAL(sms(source.sms_body, {{"coupon", false}}), "no coupon");
  CAF_CHECK_EQUAL(sms(source.sms_body, {{"coupon", nullptr}}), "no coupon");
  CAF_CHECK_EQUAL(sms(source.sms_body, {{"coupon", nlohmann::json::array()}}),
                  "no coupon");
  CAF_CHECK_EQUAL(sms(source.sms_body, {{"coupon", "C10"}}), "");
}

CAF_TEST(null renders empty and is falsy) {
  nlohmann::json vars{{"x", nullptr}};
  CAF_CHECK_EQUAL(sms("[{{x}}]", vars), "[]");
  CAF_CHECK_EQUAL(web("[{{{x}}}]", vars), "[]");
  CAF_CHECK_EQUAL(sms("[{{#x}}shown{{/x}}]", vars), "[]");
}

CAF_TEST(a missing variable is named) {
  template_source source;
  source.web_body = "Hi {{name}}, {{#items}}{{sku}}{{/items}}";
  auto tmpl = compile_ok(source);
  auto err = render_error(tmpl, {{"items", nlohmann::json::array()}});
  CAF_CHECK_EQUAL(err.code, "missing_variable");
  CAF_CHECK(contains(err.message, "'name'"));
  // The first missing one in variables() order.
  err = render_error(tmpl, nlohmann::json::object());
  CAF_CHECK_EQUAL(err.code, "missing_variable");
  CAF_CHECK(contains(err.message, "'items'"));
  // Present with null counts as present; sku inside the section is not
  // required at the top.
  nlohmann::json vars{{"name", nullptr}, {"items", {{{"x", 1}}}}};
  auto out = render_ok(tmpl, vars);
  CAF_CHECK_EQUAL(out["web"].body, "Hi , ");
}

CAF_TEST(required vars are checked even when unused) {
  template_source source;
  source.sms_body = "static text";
  source.required_vars = {"order_id"};
  auto tmpl = compile_ok(source);
  auto err = render_error(tmpl, nlohmann::json::object());
  CAF_CHECK_EQUAL(err.code, "missing_variable");
  CAF_CHECK(contains(err.message, "'order_id'"));
  auto out = render_ok(tmpl, {{"order_id", 7}});
  CAF_CHECK_EQUAL(out["sms"].body, "static text");
}

CAF_TEST(vars must be an object) {
  template_source source;
  source.sms_body = "hello";
  auto tmpl = compile_ok(source);
  for (const auto& vars : {nlohmann::json::array({1, 2}), nlohmann::json("s"),
                           nlohmann::json(nullptr), nlohmann::json(3)}) {
    auto err = render_error(tmpl, vars);
    CAF_CHECK_EQUAL(err.code, "vars_not_object");
    CAF_CHECK(contains(err.message, vars.type_name()));
  }
}

CAF_TEST(numbers render naturally) {
  auto vars = nlohmann::json::parse(R"({
    "int": 42, "neg": -7, "big": 18446744073709551615, "half": 3.5,
    "tenth": 0.1, "whole": 42.0, "price": 19.90, "zero": 0.0, "nzero": -0.0,
    "large": 1e20, "huge": 1e21, "tiny": 1.5e-7, "small": 0.000125
  })");
  CAF_CHECK_EQUAL(sms("{{int}}", vars), "42");
  CAF_CHECK_EQUAL(sms("{{neg}}", vars), "-7");
  CAF_CHECK_EQUAL(sms("{{big}}", vars), "18446744073709551615");
  CAF_CHECK_EQUAL(sms("{{half}}", vars), "3.5");
  CAF_CHECK_EQUAL(sms("{{tenth}}", vars), "0.1");
  CAF_CHECK_EQUAL(sms("{{whole}}", vars), "42");
  CAF_CHECK_EQUAL(sms("{{price}}", vars), "19.9");
  CAF_CHECK_EQUAL(sms("{{zero}}", vars), "0");
  CAF_CHECK_EQUAL(sms("{{nzero}}", vars), "0");
  CAF_CHECK_EQUAL(sms("{{large}}", vars), "100000000000000000000");
  CAF_CHECK_EQUAL(sms("{{huge}}", vars), "1e+21");
  CAF_CHECK_EQUAL(sms("{{tiny}}", vars), "1.5e-07");
  CAF_CHECK_EQUAL(sms("{{small}}", vars), "0.000125");
  // Numbers are values, not booleans: zero still opens a section.
  CAF_CHECK_EQUAL(sms("{{#zero}}n={{.}}{{/zero}}", vars), "n=0");
}

CAF_TEST(channels are listed in order and can be selected) {
  template_source source;
  source.mobile_title = "M {{x}}";
  source.mobile_body = "m {{x}}";
  source.sms_body = "s {{x}}";
  source.web_title = "W {{x}}";
  source.web_body = "w {{x}}";
  auto tmpl = compile_ok(source);
  CAF_CHECK_EQUAL(tmpl.channels(), strings({"web", "sms", "mobile"}));
  nlohmann::json vars{{"x", 1}};
  auto out = render_ok(tmpl, vars, {"sms"});
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out["sms"].body, "s 1");
  CAF_CHECK_EQUAL(out["sms"].title, "");
  out = render_ok(tmpl, vars, {"mobile", "web"});
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK_EQUAL(out.count("sms"), 0u);
  CAF_CHECK_EQUAL(out["web"].title, "W 1");
  CAF_CHECK_EQUAL(out["web"].body, "w 1");
  CAF_CHECK_EQUAL(out["mobile"].title, "M 1");
  CAF_CHECK_EQUAL(out["mobile"].body, "m 1");
}

CAF_TEST(selecting a channel the template lacks fails) {
  template_source source;
  source.sms_body = "s";
  source.mobile_body = "m";
  auto tmpl = compile_ok(source);
  CAF_CHECK_EQUAL(tmpl.channels(), strings({"sms", "mobile"}));
  auto out = render_ok(tmpl, nlohmann::json::object());
  CAF_CHECK_EQUAL(out.size(), 2u);
  CAF_CHECK_EQUAL(out["mobile"].title, "");
  auto err = render_error(tmpl, nlohmann::json::object(), {"sms", "web"});
  CAF_CHECK_EQUAL(err.code, "channel_not_in_template");
  CAF_CHECK(contains(err.message, "'web'"));
  err = render_error(tmpl, nlohmann::json::object(), {"email"});
  CAF_CHECK_EQUAL(err.code, "channel_not_in_template");
  CAF_CHECK(contains(err.message, "'email'"));
}

CAF_TEST(variables lists top level references) {
  template_source source;
  source.web_title = "{{title}}";
  source.web_body = "{{a.b}} {{#s}}{{inner}}{{/s}} {{^inv}}{{alt}}{{/inv}} "
                    "{{{raw}}} {{&amp}} {{! comment {{ignored}} }} {{.}} "
                    "{{#s}}{{#deep}}{{x}}{{/deep}}{{/s}} {{ spaced }}";
  source.sms_body = "{{z}} {{a}}";
  source.required_vars = {"req", "a", "path.to.value"};
  auto tmpl = compile_ok(source);
  CAF_CHECK_EQUAL(tmpl.variables(), strings({"a", "amp", "path", "raw", "req",
                                             "s", "spaced", "title", "z"}));
}

CAF_TEST(a compiled template outlives its source) {
  auto make = [] {
    template_source source;
    source.sms_body = "order {{id}}";
    return compile_ok(source);
  };
  auto tmpl = make();
  auto copy = tmpl;
  auto out = render_ok(copy, {{"id", 5}});
  CAF_CHECK_EQUAL(out["sms"].body, "order 5");
  CAF_CHECK_EQUAL(copy.variables(), tmpl.variables());
}

CAF_TEST(valid syntax passes the check) {
  CAF_CHECK_EQUAL(check_template_syntax(""), "");
  CAF_CHECK_EQUAL(check_template_syntax("plain { text } here"), "");
  CAF_CHECK_EQUAL(check_template_syntax("{{#a}}{{^b}}{{{c}}}{{/b}}{{/a}}"), "");
  CAF_CHECK_EQUAL(check_template_syntax("{{! {odd} comment }}{{x.y}}"), "");
  CAF_CHECK_EQUAL(check_template_syntax("{{#list}}{{.}}{{/list}}"), "");
}

CAF_TEST(syntax errors are described) {
  auto err = check_template_syntax("x\n  {{#items}}{{name}}");
  CAF_CHECK_EQUAL(err, "unclosed section 'items'");
  err = check_template_syntax("a{{/items}}");
  CAF_CHECK(contains(err, "'{{/items}}'"));
  CAF_CHECK(contains(err, "closes no open section"));
  err = check_template_syntax("{{#a}}{{#b}}{{/a}}{{/b}}");
  CAF_CHECK(contains(err, "section 'b'"));
  CAF_CHECK(contains(err, "closed by '{{/a}}'"));
  err = check_template_syntax("hi {{name");
  CAF_CHECK_EQUAL(err, "unclosed tag at line 1, column 4");
  err = check_template_syntax("one\ntwo {{{raw}} end");
  CAF_CHECK_EQUAL(err, "unclosed tag at line 2, column 5");
  err = check_template_syntax("{{}}");
  CAF_CHECK(contains(err, "empty tag"));
  err = check_template_syntax("{{{  }}}");
  CAF_CHECK(contains(err, "empty tag"));
  err = check_template_syntax("{{#}}{{/}}");
  CAF_CHECK(contains(err, "has no name"));
  err = check_template_syntax("{{& }}");
  CAF_CHECK(contains(err, "has no name"));
  err = check_template_syntax("{{first name}}");
  CAF_CHECK(contains(err, "invalid name 'first name'"));
  err = check_template_syntax("{{a..b}}");
  CAF_CHECK(contains(err, "invalid name 'a..b'"));
  err = check_template_syntax("{{=<% %>=}}<%x%>");
  CAF_CHECK(contains(err, "set-delimiter"));
  CAF_CHECK(contains(err, "not allowed"));
  err = check_template_syntax("{{> footer}}");
  CAF_CHECK(contains(err, "partial '{{> footer}}'"));
  CAF_CHECK(contains(err, "not allowed"));
}

CAF_TEST(compile errors name the field) {
  template_source source;
  source.web_body = "{{#items}}{{name}}";
  auto err = compile_error(source);
  CAF_CHECK_EQUAL(err.code, "template_invalid");
  CAF_CHECK_EQUAL(err.message, "web_body: unclosed section 'items'");
  source = template_source{};
  source.web_body = "ok";
  source.web_title = "{{> header}}";
  err = compile_error(source);
  CAF_CHECK_EQUAL(err.code, "template_invalid");
  CAF_CHECK(contains(err.message, "web_title: partial"));
  source = template_source{};
  source.sms_body = "{{#a}}{{/b}}";
  err = compile_error(source);
  CAF_CHECK_EQUAL(err.code, "template_invalid");
  CAF_CHECK(contains(err.message, "sms_body: section 'a'"));
  source = template_source{};
  source.web_body = "ok";
  source.mobile_title = "{{x}}";
  source.mobile_body = "{{x";
  err = compile_error(source);
  CAF_CHECK_EQUAL(err.code, "template_invalid");
  CAF_CHECK_EQUAL(err.message, "mobile_body: unclosed tag at line 1, column 1");
}

CAF_TEST(a title needs its body) {
  template_source source;
  source.sms_body = "s";
  source.web_title = "t";
  auto err = compile_error(source);
  CAF_CHECK_EQUAL(err.code, "template_invalid");
  CAF_CHECK_EQUAL(err.message, "web_title: given without web_body");
  source.web_title.clear();
  source.mobile_title = "t";
  err = compile_error(source);
  CAF_CHECK_EQUAL(err.code, "template_invalid");
  CAF_CHECK_EQUAL(err.message, "mobile_title: given without mobile_body");
}

CAF_TEST(required vars must be names) {
  template_source source;
  source.sms_body = "s";
  source.required_vars = {"ok", ""};
  auto err = compile_error(source);
  CAF_CHECK_EQUAL(err.code, "template_invalid");
  CAF_CHECK(contains(err.message, "required_vars"));
  source.required_vars = {"a b"};
  err = compile_error(source);
  CAF_CHECK_EQUAL(err.code, "template_invalid");
  CAF_CHECK(contains(err.message, "'a b'"));
}

CAF_TEST(a template without bodies is empty) {
  auto err = compile_error(template_source{});
  CAF_CHECK_EQUAL(err.code, "template_empty");
  template_source titles_only;
  titles_only.web_title = "t";
  titles_only.mobile_title = "t";
  titles_only.required_vars = {"x"};
  err = compile_error(titles_only);
  CAF_CHECK_EQUAL(err.code, "template_empty");
}

CAF_TEST_FIXTURE_SCOPE_END()
