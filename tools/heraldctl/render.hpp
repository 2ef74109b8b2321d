#pragma once

// heraldctl's human output: the JSON of the debug endpoints as a terminal
// shows it. --json bypasses all of this.

#include <nlohmann/json.hpp>

#include <string>

namespace herald::ctl {

/// The actor tree, drawn with branches.
std::string render_tree(const nlohmann::json& root);

/// The busiest actors of a tree: fullest mailboxes first, then restarts.
std::string render_top(const nlohmann::json& root, size_t rows);

/// The actors of a tree, flattened, in the order render_top shows them.
nlohmann::json busiest(const nlohmann::json& root);

/// One user's actor and sessions.
std::string render_user(const nlohmann::json& user);

/// A message from its outbox row to each session.
std::string render_trace(const nlohmann::json& message);

/// The sms and mobile queues and the newest dead letters.
std::string render_channels(const nlohmann::json& view);

/// One line per message for tail.
std::string render_tail_line(const nlohmann::json& message);

} // namespace herald::ctl
