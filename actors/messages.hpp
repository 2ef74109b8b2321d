#pragma once

// Messages between Herald's actors that carry more than atoms and strings.
// They never leave the process, so they are allowed as "unsafe" (not
// serializable) message types instead of getting type IDs.

#include "core/template_renderer.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace herald::actors {

/// Render one message with a template version (to the template registry,
/// which hands it to the template actor of app_id/code).
struct render_request {
  int64_t app_id = 0;
  std::string code;
  int64_t template_id = 0;
  std::shared_ptr<const template_source> source;
  std::string vars_json;
  std::vector<std::string> channels; ///< empty: every channel
};

/// The answer to a render_request: rendered channels as JSON, or an error.
struct render_result {
  std::string rendered_json; ///< {"web": {"title", "body"}, ...}
  std::string error_code;    ///< empty on success
  std::string error_message;
};

/// Well-known names in the actor system's registry, so that a restarted
/// actor is found again by those that talk to it.
namespace names {
inline const caf::atom_value templates = caf::atom("templates");
inline const caf::atom_value users = caf::atom("users");
inline const caf::atom_value channels = caf::atom("channels");
inline const caf::atom_value inbox = caf::atom("inbox");
inline const caf::atom_value tailer = caf::atom("tailer");
inline const caf::atom_value channel_expander = caf::atom("chexpander");
} // namespace names

} // namespace herald::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::render_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::actors::render_result)
