#include "core/template_renderer.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

namespace herald {

namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

constexpr std::string_view web = "web";
constexpr std::string_view sms = "sms";
constexpr std::string_view mobile = "mobile";

// -- scanning -----------------------------------------------------------------

bool is_space(char ch) {
  return std::isspace(static_cast<unsigned char>(ch)) != 0;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

// Authors edit templates in text boxes, so lines and columns beat offsets.
std::string where(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " +
         std::to_string(offset - line_start + 1);
}

// A stray "{{" can swallow a whole paragraph up to the next "}}"; quoting
// all of it would bury the message.
std::string quote_tag(std::string_view tag) {
  constexpr size_t limit = 40;
  if (tag.size() <= limit)
    return "'" + std::string{tag} + "'";
  return "'" + std::string{tag.substr(0, limit - 3)} + "...'";
}

// "" when `name` can address a value, else why not. Kainjow would accept
// names with spaces or stray dots and silently render nothing for them.
std::string name_problem(std::string_view name) {
  if (name.empty())
    return "has no name";
  if (name == ".")
    return "";
  for (char ch : name)
    if (is_space(ch) || ch == '{' || ch == '}')
      return "has an invalid name '" + std::string{name} + "'";
  if (name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string_view::npos)
    return "has an invalid name '" + std::string{name} + "'";
  return "";
}

// The variable a dotted name starts from: "a.b" reads vars["a"].
std::string root_of(std::string_view name) {
  return std::string{name.substr(0, name.find('.'))};
}

struct scan_result {
  /// "" or the first problem found.
  std::string error;
  /// Roots of the names referenced outside any section.
  std::vector<std::string> top_level;
};

// Mirrors how kainjow splits tags (first "{{", then "}}" or "}}}" after a
// triple brace) so that our findings agree with what it will render.
scan_result scan_tags(std::string_view text) {
  enum class kind { variable, section, inverted, close };
  struct open_section {
    std::string name;
    size_t offset;
  };
  scan_result result;
  std::vector<open_section> open;
  auto fail = [&result](std::string message) {
    result.error = std::move(message);
    result.top_level.clear();
    return result;
  };
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    const size_t start = pos;
    const bool triple = start + 2 < text.size() && text[start + 2] == '{';
    const size_t contents_begin = start + (triple ? 3 : 2);
    const std::string_view closing = triple ? "}}}" : "}}";
    const size_t end = text.find(closing, contents_begin);
    if (end == std::string_view::npos)
      return fail("unclosed tag at " + where(text, start));
    pos = end + closing.size();
    const auto tag = text.substr(start, pos - start);
    const auto contents =
      trim(text.substr(contents_begin, end - contents_begin));
    if (contents.empty())
      return fail("empty tag " + quote_tag(tag) + " at " + where(text, start));
    auto k = kind::variable;
    auto name = contents;
    if (!triple) {
      switch (contents.front()) {
        case '!':
          continue;
        case '=':
          return fail("set-delimiter tag " + quote_tag(tag) + " at " +
                      where(text, start) +
                      " is not allowed: templates use {{ }} only");
        case '>':
          return fail("partial " + quote_tag(tag) + " at " +
                      where(text, start) +
                      " is not allowed: templates are self-contained");
        case '#':
          k = kind::section;
          break;
        case '^':
          k = kind::inverted;
          break;
        case '/':
          k = kind::close;
          break;
        case '&':
          break;
        default:
          break;
      }
      if (k != kind::variable || contents.front() == '&')
        name = trim(contents.substr(1));
    }
    if (auto problem = name_problem(name); !problem.empty())
      return fail("tag " + quote_tag(tag) + " at " + where(text, start) + " " +
                  problem);
    switch (k) {
      case kind::variable:
        if (open.empty() && name != ".")
          result.top_level.push_back(root_of(name));
        break;
      case kind::section:
        if (open.empty() && name != ".")
          result.top_level.push_back(root_of(name));
        open.push_back({std::string{name}, start});
        break;
      case kind::inverted:
        // Not a reference: "{{^x}}" exists to handle x being absent.
        open.push_back({std::string{name}, start});
        break;
      case kind::close:
        if (open.empty())
          return fail(quote_tag(tag) + " at " + where(text, start) +
                      " closes no open section");
        if (open.back().name != name)
          return fail("section '" + open.back().name + "' (opened at " +
                      where(text, open.back().offset) + ") is closed by " +
                      quote_tag(tag) + " at " + where(text, start));
        open.pop_back();
        break;
    }
  }
  if (!open.empty())
    return fail("unclosed section '" + open.back().name + "'");
  return result;
}

// -- JSON to mustache data ----------------------------------------------------

// Like JavaScript's Number#toString: plain decimals for everyday magnitudes,
// the shortest text that reads back to the same double, no trailing zeros.
std::string number_text(double value) {
  if (!std::isfinite(value))
    return "";
  if (value == 0)
    return "0"; // also for -0.0
  char buf[64];
  const double magnitude = std::fabs(value);
  const auto result =
    magnitude >= 1e-6 && magnitude < 1e21
      ? std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed)
      : std::to_chars(buf, buf + sizeof(buf), value);
  return std::string{buf, result.ptr};
}

data to_data(const nlohmann::json& value) {
  using type = nlohmann::json::value_t;
  switch (value.type()) {
    case type::object: {
      data result{data::type::object};
      for (const auto& [key, item] : value.items())
        result[key] = to_data(item);
      return result;
    }
    case type::array: {
      data result{data::type::list};
      for (const auto& item : value)
        result.push_back(to_data(item));
      return result;
    }
    case type::string:
      return data{value.get_ref<const std::string&>()};
    case type::boolean:
      return data{value.get<bool>()};
    case type::number_integer:
      return data{std::to_string(value.get<std::int64_t>())};
    case type::number_unsigned:
      return data{std::to_string(value.get<std::uint64_t>())};
    case type::number_float:
      return data{number_text(value.get<double>())};
    default:
      // null: kainjow renders false as "" like an empty string, but unlike
      // one it is falsy, so {{#x}} skips and {{^x}} shows as Mustache says.
      return data{false};
  }
}

std::string identity(const std::string& text) {
  return text;
}

} // namespace

// -- compiled_template --------------------------------------------------------

struct compiled_template::impl {
  // Kainjow's render() is not const only because lambdas and partials may
  // record errors; our data has no lambdas and partials are refused, so
  // rendering writes nothing here and concurrent renders are safe.
  mutable std::optional<mustache> web_title;
  mutable std::optional<mustache> web_body;
  mutable std::optional<mustache> sms_body;
  mutable std::optional<mustache> mobile_title;
  mutable std::optional<mustache> mobile_body;
  std::vector<std::string> channels;
  std::vector<std::string> variables;
};

compiled_template::compiled_template(std::shared_ptr<const impl> state)
  : impl_(std::move(state)) {
  // nop
}

std::variant<compiled_template, template_error>
compiled_template::compile(const template_source& source) {
  auto state = std::make_shared<impl>();
  struct field {
    const char* name;
    const std::string& text;
    bool html;
    std::optional<mustache>& slot;
  };
  const field fields[] = {
    {"web_title", source.web_title, true, state->web_title},
    {"web_body", source.web_body, true, state->web_body},
    {"sms_body", source.sms_body, false, state->sms_body},
    {"mobile_title", source.mobile_title, false, state->mobile_title},
    {"mobile_body", source.mobile_body, false, state->mobile_body},
  };
  auto invalid = [](const char* name, const std::string& why) {
    return template_error{"template_invalid", std::string{name} + ": " + why};
  };
  for (const auto& f : fields) {
    if (f.text.empty())
      continue;
    auto scanned = scan_tags(f.text);
    if (!scanned.error.empty())
      return invalid(f.name, scanned.error);
    auto& tmpl = f.slot.emplace(f.text);
    // Our scanner should have caught everything; kainjow has the last word.
    if (!tmpl.is_valid())
      return invalid(f.name, tmpl.error_message());
    if (!f.html)
      tmpl.set_custom_escape(identity);
    state->variables.insert(state->variables.end(), scanned.top_level.begin(),
                            scanned.top_level.end());
  }
  if (source.web_body.empty() && source.sms_body.empty() &&
      source.mobile_body.empty())
    return template_error{"template_empty",
                          "the template has no web_body, sms_body or "
                          "mobile_body"};
  // A title alone would never be sent; it is an author's slip.
  if (!source.web_title.empty() && source.web_body.empty())
    return invalid("web_title", "given without web_body");
  if (!source.mobile_title.empty() && source.mobile_body.empty())
    return invalid("mobile_title", "given without mobile_body");
  for (const auto& name : source.required_vars) {
    if (auto problem = name_problem(name); !problem.empty() || name == ".")
      return invalid("required_vars", name.empty()
                                        ? std::string{"contains an empty name"}
                                        : "invalid name '" + name + "'");
    state->variables.push_back(root_of(name));
  }
  auto& vars = state->variables;
  std::sort(vars.begin(), vars.end());
  vars.erase(std::unique(vars.begin(), vars.end()), vars.end());
  if (!source.web_body.empty())
    state->channels.emplace_back(web);
  if (!source.sms_body.empty())
    state->channels.emplace_back(sms);
  if (!source.mobile_body.empty())
    state->channels.emplace_back(mobile);
  return compiled_template{std::move(state)};
}

const std::vector<std::string>& compiled_template::channels() const {
  return impl_->channels;
}

const std::vector<std::string>& compiled_template::variables() const {
  return impl_->variables;
}

std::variant<std::map<std::string, rendered_channel>, template_error>
compiled_template::render(const nlohmann::json& vars,
                          const std::vector<std::string>& only) const {
  if (!vars.is_object())
    return template_error{"vars_not_object",
                          std::string{"vars must be a JSON object, not "} +
                            vars.type_name()};
  const auto& wanted = only.empty() ? impl_->channels : only;
  for (const auto& channel : wanted)
    if (std::find(impl_->channels.begin(), impl_->channels.end(), channel) ==
        impl_->channels.end())
      return template_error{"channel_not_in_template",
                            "the template has no '" + channel + "' channel"};
  for (const auto& name : impl_->variables)
    if (!vars.contains(name))
      return template_error{"missing_variable",
                            "missing variable '" + name + "'"};
  const auto input = to_data(vars);
  auto render_text = [&input](std::optional<mustache>& tmpl) {
    return tmpl ? tmpl->render(input) : std::string{};
  };
  std::map<std::string, rendered_channel> result;
  for (const auto& channel : wanted) {
    rendered_channel out;
    if (channel == web) {
      out.title = render_text(impl_->web_title);
      out.body = render_text(impl_->web_body);
    } else if (channel == sms) {
      out.body = render_text(impl_->sms_body);
    } else {
      out.title = render_text(impl_->mobile_title);
      out.body = render_text(impl_->mobile_body);
    }
    result.emplace(channel, std::move(out));
  }
  return result;
}

std::string check_template_syntax(std::string_view text) {
  auto scanned = scan_tags(text);
  if (!scanned.error.empty())
    return scanned.error;
  mustache tmpl{std::string{text}};
  return tmpl.is_valid() ? std::string{} : tmpl.error_message();
}

} // namespace herald
