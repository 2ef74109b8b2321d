#include "tools/heraldctl/render.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace herald::ctl {

namespace {

using nlohmann::json;

std::string text(const json& node, const char* key) {
  if (!node.contains(key) || node[key].is_null())
    return "-";
  const auto& v = node[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string duration(const json& node) {
  if (!node.contains("uptime_ms"))
    return "";
  auto ms = node["uptime_ms"].get<double>();
  char buf[32];
  if (ms < 60'000)
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000);
  else if (ms < 3'600'000)
    std::snprintf(buf, sizeof buf, "%.1fm", ms / 60'000);
  else
    std::snprintf(buf, sizeof buf, "%.1fh", ms / 3'600'000);
  return buf;
}

// What a node says about itself beyond the common fields, briefly.
std::string details(const json& node) {
  static const char* common[] = {"kind",    "name",     "id",        "state",
                                 "mailbox", "restarts", "uptime_ms", "children",
                                 "alive",   "sessions"};
  std::string out;
  for (const auto& [key, value] : node.items()) {
    if (std::find(std::begin(common), std::end(common), key) !=
        std::end(common))
      continue;
    if (value.is_structured() || (value.is_string() && value == ""))
      continue;
    out += " " + key + "=" +
           (value.is_string() ? value.get<std::string>() : value.dump());
  }
  if (node.contains("sessions"))
    out += " sessions=" + (node["sessions"].is_array()
                             ? std::to_string(node["sessions"].size())
                             : node["sessions"].dump());
  return out;
}

std::string node_line(const json& node) {
  std::ostringstream line;
  line << text(node, "name") << "  " << text(node, "kind") << " #"
       << text(node, "id");
  if (node.contains("state"))
    line << "  " << text(node, "state");
  if (node.contains("mailbox"))
    line << "  mailbox=" << text(node, "mailbox");
  if (node.contains("restarts"))
    line << "  restarts=" << text(node, "restarts");
  if (auto up = duration(node); !up.empty())
    line << "  up " << up;
  line << " " << details(node);
  auto s = line.str();
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

void draw(const json& node, const std::string& prefix, bool last, bool root,
          std::ostringstream& out) {
  out << prefix << (root ? "" : (last ? "└── " : "├── ")) << node_line(node)
      << '\n';
  if (!node.contains("children") || !node["children"].is_array())
    return;
  auto child_prefix = root ? prefix : prefix + (last ? "    " : "│   ");
  const auto& children = node["children"];
  for (size_t i = 0; i < children.size(); ++i)
    draw(children[i], child_prefix, i + 1 == children.size(), false, out);
}

void flatten(const json& node, const std::string& path, json& out) {
  auto name =
    path.empty() ? text(node, "name") : path + "/" + text(node, "name");
  out.push_back({{"path", name},
                 {"kind", text(node, "kind")},
                 {"id", node.value("id", json{})},
                 {"state", node.value("state", std::string{"-"})},
                 {"mailbox", node.value("mailbox", 0)},
                 {"restarts", node.value("restarts", 0)}});
  if (node.contains("children") && node["children"].is_array())
    for (const auto& child : node["children"])
      flatten(child, name, out);
}

std::string when(const json& v) {
  return v.is_null() ? "-" : v.get<std::string>();
}

} // namespace

std::string render_tree(const json& root) {
  std::ostringstream out;
  draw(root, "", true, true, out);
  return out.str();
}

json busiest(const json& root) {
  json all = json::array();
  flatten(root, "", all);
  std::stable_sort(all.begin(), all.end(), [](const json& a, const json& b) {
    if (a["mailbox"] != b["mailbox"])
      return a["mailbox"].get<double>() > b["mailbox"].get<double>();
    return a["restarts"].get<double>() > b["restarts"].get<double>();
  });
  return all;
}

std::string render_top(const json& root, size_t rows) {
  auto all = busiest(root);
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-8s %-9s %-13s %-16s %s\n", "MAILBOX",
                "RESTARTS", "STATE", "KIND", "ACTOR");
  out << line;
  for (size_t i = 0; i < all.size() && i < rows; ++i) {
    const auto& a = all[i];
    std::snprintf(line, sizeof line, "%-8s %-9s %-13s %-16s %s\n",
                  text(a, "mailbox").c_str(), text(a, "restarts").c_str(),
                  text(a, "state").c_str(), text(a, "kind").c_str(),
                  text(a, "path").c_str());
    out << line;
  }
  out << all.size() << " actors\n";
  return out.str();
}

std::string render_user(const json& user) {
  std::ostringstream out;
  out << "user " << text(user, "app") << "/" << text(user, "user");
  if (!user.value("active", false)) {
    out << ": no actor runs for this user (no live sessions)\n";
    return out.str();
  }
  out << "  actor #" << text(user, "id")
      << "  last_seq=" << text(user, "last_seq")
      << "  acked=" << text(user, "acked_seq")
      << "  mailbox=" << text(user, "mailbox")
      << "  pushed=" << text(user, "pushed")
      << "  resent=" << text(user, "resent") << '\n';
  char line[256];
  std::snprintf(line, sizeof line, "  %-8s %-10s %-16s %-8s %-8s %-8s %s\n",
                "SESSION", "TRANSPORT", "REMOTE", "SENT", "ACKED", "UNACKED",
                "QUEUED");
  out << line;
  for (const auto& s : user.value("sessions", json::array())) {
    std::snprintf(line, sizeof line, "  %-8s %-10s %-16s %-8s %-8s %-8s %s\n",
                  text(s, "id").c_str(), text(s, "transport").c_str(),
                  text(s, "remote").c_str(), text(s, "last_sent_seq").c_str(),
                  text(s, "last_acked_seq").c_str(), text(s, "unacked").c_str(),
                  (text(s, "queued_bytes") + " B").c_str());
    out << line;
  }
  return out.str();
}

std::string render_trace(const json& m) {
  std::ostringstream out;
  out << "message " << text(m, "id") << "  app=" << text(m, "app")
      << "  template=" << text(m, "template")
      << "  priority=" << text(m, "priority") << '\n'
      << "  committed   " << when(m["created_at"]) << "  targets "
      << m["targets"].dump() << '\n'
      << "  expanded    " << when(m["processed_at"]) << "  "
      << text(m, "state");
  if (m["state"] == "rejected")
    out << " (" << text(m, "reject_code") << ": " << text(m, "reject_message")
        << ")";
  else
    out << ", " << text(m, "recipients") << " recipient(s)";
  out << '\n';
  for (const auto& d : m.value("deliveries", json::array())) {
    out << "  → " << text(d, "user") << " via " << text(d, "channel")
        << "  seq " << text(d, "seq") << "  " << text(d, "state");
    if (!d["reason_code"].is_null())
      out << " (" << text(d, "reason_code") << ": " << text(d, "reason") << ")";
    out << '\n';
    if (d.contains("pushes") && d["pushes"].is_array())
      for (const auto& p : d["pushes"]) {
        char at[64];
        std::snprintf(at, sizeof at, "%.3f", p.value("at", 0.0));
        out << "      pushed to session " << text(p, "session") << " ("
            << text(p, "transport") << ") at " << at
            << (p.value("resend", false) ? " [resend]" : "")
            << (p.value("acked_by_session", false) ? "  acked" : "") << '\n';
      }
    out << "      sent " << when(d["sent_at"]) << "  acked "
        << when(d["acked_at"]) << "  read " << when(d["read_at"]) << '\n';
  }
  return out.str();
}

std::string render_channels(const json& view) {
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof line, "%-16s %-7s %7s %7s %8s %9s %7s %7s\n",
                "APP", "CHANNEL", "DUE", "HELD", "RETRYING", "SENT/1H",
                "FAILED", "DEAD");
  out << line;
  for (const auto& q : view.value("queues", json::array())) {
    std::snprintf(line, sizeof line, "%-16s %-7s %7s %7s %8s %9s %7s %7s\n",
                  text(q, "app_name").c_str(), text(q, "channel").c_str(),
                  text(q, "due").c_str(), text(q, "held").c_str(),
                  text(q, "retrying").c_str(),
                  text(q, "sent_last_hour").c_str(), text(q, "failed").c_str(),
                  text(q, "dead").c_str());
    out << line;
  }
  auto dead = view.value("dead_letters", json::array());
  if (!dead.empty())
    out << "\ndead letters (newest first)\n";
  for (const auto& d : dead)
    out << "  delivery " << text(d, "delivery_id") << "  message "
        << text(d, "message_id") << "  " << text(d, "app") << "/"
        << text(d, "channel") << "  after " << text(d, "attempts")
        << " attempt(s)  " << text(d, "reason_code") << ": " << text(d, "error")
        << '\n';
  return out.str();
}

std::string render_tail_line(const json& m) {
  std::map<std::string, int> states;
  for (const auto& d : m.value("deliveries", json::array()))
    ++states[d.value("state", std::string{"?"})];
  std::ostringstream out;
  out << when(m["created_at"]) << "  #" << text(m, "id") << "  "
      << text(m, "app") << "/" << text(m, "template") << "  "
      << text(m, "state");
  if (m["state"] == "rejected")
    out << " (" << text(m, "reject_code") << ")";
  for (const auto& [state, n] : states)
    out << "  " << state << "=" << n;
  return out.str();
}

} // namespace herald::ctl
