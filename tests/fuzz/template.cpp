// Templates as authors write them (the API checks their syntax, the engine
// compiles and renders them) with vars as publishers send them.
//
// Input: the vars JSON on the first line, the template text after it; with
// no line break the whole input is the template and the vars are {}.

#include "core/rendered_json.hpp"
#include "core/template_renderer.hpp"
#include "fuzz_support.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace {

using namespace herald;
using herald::fuzz::check;
using json = nlohmann::json;

// Keeps the fuzzer on rendering rather than on exponential fan-out of
// nested sections over long lists, which libFuzzer would only time out on.
constexpr size_t max_list = 8;

json trimmed(const json& value) {
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) {
      if (out.size() == max_list)
        break;
      out.push_back(trimmed(item));
    }
    return out;
  }
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [key, item] : value.items())
      out[key] = trimmed(item);
    return out;
  }
  return value;
}

void check_rendered(const compiled_template& tmpl, json vars) {
  // Give every variable the template needs a value so that rendering runs.
  for (const auto& name : tmpl.variables())
    if (!vars.contains(name))
      vars[name] = "v";
  auto rendered = tmpl.render(vars);
  auto channels = std::get_if<0>(&rendered);
  check(channels != nullptr, "render: succeeds once every variable is set");
  check(channels->size() == tmpl.channels().size(), "render: every channel");

  // A name that is not UTF-8 cannot come in as JSON from a publisher.
  for (const auto& name : tmpl.variables())
    if (!fuzz::is_utf8(name))
      return;
  auto stored = render_json(tmpl, vars.dump(), {});
  auto text = std::get_if<std::string>(&stored);
  check(text != nullptr, "render_json: succeeds like render");
  auto parsed = json::parse(*text, nullptr, false);
  check(parsed.is_object() && parsed.size() == channels->size(),
        "render_json: an object with every channel");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto input = fuzz::as_text(data, size);
  const auto newline = input.find('\n');
  const auto vars_text = newline == std::string_view::npos
                           ? std::string_view{"{}"}
                           : input.substr(0, newline);
  const auto text =
    newline == std::string_view::npos ? input : input.substr(newline + 1);

  const auto syntax = check_template_syntax(text);

  // The same text in every field: web escapes HTML, sms and mobile do not.
  template_source source;
  source.web_title = std::string{text};
  source.web_body = std::string{text};
  source.sms_body = std::string{text};
  source.mobile_title = std::string{text};
  source.mobile_body = std::string{text};
  auto compiled = compiled_template::compile(source);
  if (auto err = std::get_if<template_error>(&compiled)) {
    check(text.empty() ? err->code == "template_empty"
                       : err->code == "template_invalid" && !syntax.empty(),
          "compile: fails exactly when check_template_syntax does");
    return 0;
  }
  check(syntax.empty(), "compile: succeeds exactly when the syntax is fine");
  const auto& tmpl = std::get<compiled_template>(compiled);
  check(tmpl.channels().size() == 3, "compile: web, sms and mobile");
  const auto& names = tmpl.variables();
  check(std::is_sorted(names.begin(), names.end()) &&
          std::adjacent_find(names.begin(), names.end()) == names.end(),
        "variables: sorted and unique");

  auto vars = json::parse(vars_text, nullptr, false);
  if (vars.is_discarded() || !vars.is_object()) {
    auto refused = tmpl.render(vars.is_discarded() ? json{} : vars);
    auto err = std::get_if<template_error>(&refused);
    check(err != nullptr && err->code == "vars_not_object",
          "render: vars must be an object");
    vars = json::object();
  }
  check_rendered(tmpl, trimmed(vars));
  return 0;
}
