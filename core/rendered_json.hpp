#pragma once

#include "core/template_renderer.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace herald {

/// Renders `vars_json` (text) with `tmpl` into the JSON stored on the
/// message: {"web": {"title", "body"}, "sms": {"body"}, "mobile": {...}}.
/// Invalid JSON is a "vars_not_object" error like any non-object.
std::variant<std::string, template_error>
render_json(const compiled_template& tmpl, std::string_view vars_json,
            const std::vector<std::string>& channels);

} // namespace herald
