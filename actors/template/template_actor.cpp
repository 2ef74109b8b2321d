#include "actors/template/template_actor.hpp"

#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "core/rendered_json.hpp"

#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>

#include <optional>

namespace herald::actors {

namespace {

struct template_state {
  int64_t app_id = 0;
  std::string code;
  int64_t compiled_id = 0;
  std::optional<compiled_template> compiled;
  size_t renders = 0;
  size_t failures = 0;
  std::string last_error;
  static inline const char* name = "template";
};

using template_actor = caf::stateful_actor<template_state>;

render_result failure(template_state& st, std::string code,
                      std::string message) {
  ++st.failures;
  st.last_error = code + ": " + message;
  return {{}, std::move(code), std::move(message)};
}

render_result render(template_state& st, const render_request& req) {
  if (st.compiled_id != req.template_id || !st.compiled) {
    if (!req.source)
      return failure(st, "template_invalid", "no template source given");
    auto compiled = compiled_template::compile(*req.source);
    if (auto err = std::get_if<template_error>(&compiled))
      return failure(st, err->code, err->message);
    st.compiled = std::get<compiled_template>(std::move(compiled));
    st.compiled_id = req.template_id;
  }
  auto rendered = render_json(*st.compiled, req.vars_json, req.channels);
  if (auto err = std::get_if<template_error>(&rendered))
    return failure(st, err->code, err->message);
  ++st.renders;
  return {std::get<std::string>(std::move(rendered)), {}, {}};
}

caf::behavior template_behavior(template_actor* self, int64_t app_id,
                                std::string code) {
  self->state.app_id = app_id;
  self->state.code = std::move(code);
  return {
    [self](render_request& req) { return render(self->state, req); },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{{"kind", "template"},
                            {"id", self->id()},
                            {"mailbox", self->mailbox().size()},
                            {"app_id", st.app_id},
                            {"code", st.code},
                            {"version_id", st.compiled_id},
                            {"renders", st.renders},
                            {"failures", st.failures},
                            {"last_error", st.last_error},
                            {"mailbox", self->mailbox().size()}}
        .dump();
    },
    [self](crash_atom) {
      self->quit(caf::make_error(caf::sec::runtime_error, "injected crash"));
    },
  };
}

} // namespace

caf::actor spawn_template_actor(caf::event_based_actor* parent, int64_t app_id,
                                std::string code) {
  return parent->spawn(template_behavior, app_id, std::move(code));
}

} // namespace herald::actors
