// Vars text as publishers send it (herald.publish, POST /v1/messages)
// through render_json with fixed, valid templates: what the expander stores
// for every message.

#include "core/rendered_json.hpp"
#include "fuzz_support.hpp"

#include <nlohmann/json.hpp>

#include <optional>

namespace {

using namespace herald;
using herald::fuzz::check;
using json = nlohmann::json;

compiled_template make(template_source source) {
  auto compiled = compiled_template::compile(source);
  check(std::holds_alternative<compiled_template>(compiled),
        "the fixed templates compile");
  return std::get<compiled_template>(compiled);
}

// x alone: web must be exactly x HTML-escaped, sms exactly x.
const compiled_template& plain() {
  static const auto tmpl = make({"{{x}}", "{{x}}", "{{x}}", "", "", {}});
  return tmpl;
}

// Every tag kind over lists, objects, dotted names and raw output.
const compiled_template& rich() {
  static const auto tmpl =
    make({"{{user.name}} {{{raw}}}",
          "<ul>{{#items}}<li>{{name}}: {{&price}} {{.}}</li>{{/items}}</ul>"
          "{{^items}}none{{/items}}{{#flag}}!{{/flag}}{{! a comment }}",
          "{{user.name}}: {{#items}}{{name}} {{/items}}",
          "{{user}}",
          "{{#user}}{{name}}{{/user}} {{user.address.city}}",
          {"order"}});
  return tmpl;
}

std::string html_escaped(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::optional<json> rendered(const compiled_template& tmpl,
                             std::string_view vars) {
  auto result = render_json(tmpl, vars, {});
  if (auto err = std::get_if<template_error>(&result)) {
    check(err->code == "vars_not_object" || err->code == "missing_variable",
          "render_json: refuses only bad vars");
    return std::nullopt;
  }
  auto out = json::parse(std::get<std::string>(result), nullptr, false);
  check(out.is_object(), "render_json: a JSON object");
  check(out.size() == tmpl.channels().size(), "render_json: every channel");
  for (const auto& [channel, entry] : out.items()) {
    check(entry["body"].is_string(), "render_json: a body per channel");
    check(channel == "sms" ? !entry.contains("title")
                           : entry["title"].is_string(),
          "render_json: a title except for sms");
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = fuzz::as_text(data, size);
  // Nested sections multiply list lengths; the fixed templates nest one
  // deep, so the output stays linear in the input.
  if (auto out = rendered(plain(), text)) {
    auto vars = json::parse(text);
    const auto& x = vars["x"];
    if (x.is_string()) {
      const auto& value = x.get_ref<const std::string&>();
      check((*out)["sms"]["body"] == value, "sms: the variable verbatim");
      check((*out)["web"]["body"] == html_escaped(value),
            "web: the variable HTML-escaped");
    }
  }
  rendered(rich(), text);
  return 0;
}
