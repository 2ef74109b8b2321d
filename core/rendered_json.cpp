#include "core/rendered_json.hpp"

#include <nlohmann/json.hpp>

namespace herald {

std::variant<std::string, template_error>
render_json(const compiled_template& tmpl, std::string_view vars_json,
            const std::vector<std::string>& channels) {
  auto vars = nlohmann::json::parse(vars_json, nullptr, false);
  if (vars.is_discarded())
    return template_error{"vars_not_object", "vars are not valid JSON"};
  auto rendered = tmpl.render(vars, channels);
  if (auto err = std::get_if<template_error>(&rendered))
    return *err;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [channel, text] : std::get<0>(rendered)) {
    nlohmann::json entry{{"body", text.body}};
    // SMS has no title; the others always carry one, possibly empty.
    if (channel != "sms")
      entry["title"] = text.title;
    out[channel] = std::move(entry);
  }
  // Nothing guarantees template texts are UTF-8 (a SQL_ASCII database
  // stores any bytes); a throwing dump would fail the message over one bad
  // byte, so it becomes U+FFFD, as in the frames sent to clients.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace herald
