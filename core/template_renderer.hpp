#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// Only the declaration: the renderer's users should not all pay for the
// full nlohmann header.
#include <nlohmann/json_fwd.hpp>

namespace herald {

/// The texts of one template version, per channel; an empty body means the
/// template has no such channel. Channels: "web", "sms", "mobile".
struct template_source {
  std::string web_title, web_body;
  std::string sms_body;
  std::string mobile_title, mobile_body;
  /// Variables every render must supply, declared by the author.
  std::vector<std::string> required_vars;
};

/// Why a template cannot compile or a message cannot render.
struct template_error {
  /// Machine-readable: "template_invalid", "template_empty",
  /// "vars_not_object", "missing_variable" or "channel_not_in_template".
  std::string code;
  /// For people; names the field or variable at fault.
  std::string message;
};

/// One channel of a rendered message.
struct rendered_channel {
  /// Empty for sms, and when the template has no title for the channel.
  std::string title;
  std::string body;
};

/// A template version parsed once and rendered many times. Copies share the
/// parsed texts; render() may run concurrently on the same object.
class compiled_template {
public:
  /// Compiles every non-empty text. Errors: code "template_invalid" with a
  /// message naming the field (e.g. "web_body: unclosed section 'items'",
  /// also for a title without its body or an empty name in required_vars),
  /// or "template_empty" when no channel has a body.
  static std::variant<compiled_template, template_error>
  compile(const template_source& source);

  /// Channels with a body, in the order web, sms, mobile.
  const std::vector<std::string>& channels() const;

  /// Top-level variable names the texts reference outside sections, plus
  /// required_vars, sorted and unique ("a.b" counts as "a").
  const std::vector<std::string>& variables() const;

  /// Renders the requested channels (all of channels() when `only` is
  /// empty). Web title and body are HTML-escaped except variables the
  /// template marks raw with {{{x}}} or {{&x}}; sms and mobile texts are
  /// never escaped. Errors, checked in this order: "vars_not_object" when
  /// vars is not a JSON object; "channel_not_in_template" when `only` names
  /// a channel the template lacks; "missing_variable" naming the first of
  /// variables() absent from vars (a key present with null counts as
  /// present).
  std::variant<std::map<std::string, rendered_channel>, template_error>
  render(const nlohmann::json& vars,
         const std::vector<std::string>& only = {}) const;

private:
  struct impl;

  explicit compiled_template(std::shared_ptr<const impl> state);

  std::shared_ptr<const impl> impl_;
};

/// "" when `text` is valid Mustache, else what is wrong. Set-delimiter
/// tags ({{=<% %>=}}) and partials ({{> x}}) are refused: templates are
/// self-contained.
std::string check_template_syntax(std::string_view text);

} // namespace herald
