// heraldctl: looks into a running heraldd through its admin routes — the
// actor tree, the busiest actors, one user, one message's trace, a live
// tail — and publishes or injects faults for testing. Human output by
// default, --json for scripts.

#include "tools/heraldctl/engine_client.hpp"
#include "tools/heraldctl/render.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

namespace {

using herald::ctl::engine_client;
using nlohmann::json;

struct options {
  std::string url;
  std::string token;
  std::string token_file;
  bool json = false;
};

std::string env_or(const char* name, std::string fallback) {
  auto value = std::getenv(name);
  return value && *value ? value : fallback;
}

// --token, else --token-file, else HERALD_ADMIN_TOKEN, else the file
// scripts/run.sh keeps.
std::string find_token(const options& opts) {
  if (!opts.token.empty())
    return opts.token;
  if (opts.token_file.empty())
    if (auto env = env_or("HERALD_ADMIN_TOKEN", ""); !env.empty())
      return env;
  auto path = opts.token_file.empty() ? ".herald/admin-token" : opts.token_file;
  std::ifstream file{path};
  if (!file && !opts.token_file.empty())
    throw std::runtime_error("--token-file: cannot read " + path);
  std::string token;
  std::getline(file, token);
  while (!token.empty() &&
         std::isspace(static_cast<unsigned char>(token.back())))
    token.pop_back();
  return token;
}

void print(const options& opts, const json& value, const std::string& human) {
  if (opts.json)
    std::cout << value.dump(2) << std::endl;
  else
    std::cout << human << std::flush;
}

std::string escape_path(const std::string& segment) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void tail(const engine_client& engine, const options& opts,
          const std::string& app, int64_t from, size_t count) {
  // New messages are shown as they appear; pending ones again once
  // expanded.
  int64_t cursor = from;
  if (cursor < 0) {
    auto newest = engine.get("/v1/admin/messages?limit=1");
    cursor = newest["messages"].empty()
               ? 0
               : newest["messages"][0]["id"].get<int64_t>();
  }
  std::map<int64_t, std::string> pending;
  size_t shown = 0;
  auto show = [&](const json& m) {
    if (opts.json)
      std::cout << m.dump() << std::endl;
    else
      std::cout << herald::ctl::render_tail_line(m) << std::endl;
    ++shown;
  };
  for (;;) {
    std::string query =
      "/v1/admin/messages?limit=200&after=" + std::to_string(cursor);
    if (!app.empty())
      query += "&app=" + escape_path(app);
    // Kept in a variable: a range over a member of a temporary would
    // outlive it.
    auto page = engine.get(query);
    for (const auto& m : page["messages"]) {
      cursor = std::max(cursor, m["id"].get<int64_t>());
      if (m["state"] == "pending")
        pending[m["id"].get<int64_t>()] = m.dump();
      show(m);
      if (count && shown >= count)
        return;
    }
    for (auto it = pending.begin(); it != pending.end();) {
      auto m = engine.get("/v1/admin/messages/" + std::to_string(it->first));
      if (m["state"] == "pending") {
        ++it;
        continue;
      }
      show(m);
      it = pending.erase(it);
      if (count && shown >= count)
        return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{500});
  }
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"heraldctl: look into a running Herald engine"};
  app.require_subcommand(1);
  options opts;
  opts.url = env_or("HERALD_ADMIN_URL", "http://127.0.0.1:8081");
  app.add_option("--url", opts.url,
                 "the engine's admin listener (the public port has no admin "
                 "routes); default $HERALD_ADMIN_URL or http://127.0.0.1:8081");
  app.add_option("--token", opts.token,
                 "admin token (shows in ps: prefer --token-file); default "
                 "$HERALD_ADMIN_TOKEN or .herald/admin-token");
  app.add_option("--token-file", opts.token_file,
                 "file whose first line is the admin token");
  app.add_flag("--json", opts.json, "print JSON instead of text");

  auto tree = app.add_subcommand("tree", "the supervised actor tree");

  auto top = app.add_subcommand("top", "the busiest actors, refreshed");
  double interval = 1.0;
  size_t rows = 20;
  size_t iterations = 0;
  top->add_option("--interval", interval, "seconds between refreshes");
  top->add_option("--rows", rows, "actors shown");
  top->add_option("-n,--iterations", iterations,
                  "stop after this many refreshes (0: until interrupted)");

  auto user = app.add_subcommand("user", "one user's actor and sessions");
  std::string user_app;
  std::string user_id;
  user->add_option("app", user_app, "app name")->required();
  user->add_option("user", user_id, "the user's id in the app")->required();

  auto trace = app.add_subcommand(
    "trace", "one message from its outbox row to each session");
  int64_t message_id = 0;
  trace->add_option("message-id", message_id)->required();

  auto tail_cmd = app.add_subcommand("tail", "messages as they are processed");
  std::string tail_app;
  int64_t tail_from = -1;
  size_t tail_count = 0;
  tail_cmd->add_option("--app", tail_app, "only this app's messages");
  tail_cmd->add_option("--from", tail_from,
                       "start after this message id (default: now)");
  tail_cmd->add_option("-n,--count", tail_count,
                       "stop after this many lines (0: until interrupted)");

  auto publish = app.add_subcommand("publish", "publish a message as an app");
  std::string pub_app;
  std::string pub_template;
  std::vector<std::string> pub_targets;
  std::string pub_data = "{}";
  std::vector<std::string> pub_channels;
  std::string pub_priority;
  publish->add_option("app", pub_app)->required();
  publish->add_option("template", pub_template)->required();
  publish
    ->add_option("targets", pub_targets,
                 "user:<id>, store:<id>, merchant:<id>, topic:<name>")
    ->required();
  publish->add_option("--data", pub_data, "template variables, a JSON object");
  publish->add_option("--channel", pub_channels, "web, sms or mobile");
  publish->add_option("--priority", pub_priority,
                      "low, normal, high, critical");

  auto crash = app.add_subcommand(
    "crash", "fault injection: make a user's actor fail (it is restarted)");
  std::string crash_app;
  std::string crash_user;
  crash->add_option("app", crash_app)->required();
  crash->add_option("user", crash_user)->required();

  auto channels =
    app.add_subcommand("channels", "sms and mobile queues and dead letters");
  std::string channels_app;
  channels->add_option("--app", channels_app, "only this app");

  auto health = app.add_subcommand("health", "liveness and readiness");
  auto metrics = app.add_subcommand("metrics", "the Prometheus metrics");

  CLI11_PARSE(app, argc, argv);

  try {
    engine_client engine{opts.url, find_token(opts)};
    if (*tree) {
      auto root = engine.get("/v1/admin/debug/tree");
      print(opts, root, herald::ctl::render_tree(root));
    } else if (*top) {
      for (size_t i = 0; iterations == 0 || i < iterations; ++i) {
        if (i > 0)
          std::this_thread::sleep_for(
            std::chrono::milliseconds{static_cast<int>(interval * 1000)});
        auto root = engine.get("/v1/admin/debug/tree");
        if (opts.json) {
          std::cout << herald::ctl::busiest(root).dump() << std::endl;
          continue;
        }
        // Redraw in place, like top.
        std::cout << "\x1b[H\x1b[2J" << engine.base_url() << "\n\n"
                  << herald::ctl::render_top(root, rows) << std::flush;
      }
    } else if (*user) {
      auto j = engine.get("/v1/admin/debug/users/" + escape_path(user_app) +
                          "/" + escape_path(user_id));
      print(opts, j, herald::ctl::render_user(j));
    } else if (*trace) {
      auto j = engine.get("/v1/admin/debug/messages/" +
                          std::to_string(message_id) + "/trace");
      print(opts, j, herald::ctl::render_trace(j));
    } else if (*tail_cmd) {
      tail(engine, opts, tail_app, tail_from, tail_count);
    } else if (*publish) {
      auto data = json::parse(pub_data, nullptr, false);
      if (!data.is_object()) {
        std::cerr << "heraldctl: --data must be a JSON object\n";
        return 1;
      }
      json body{
        {"template", pub_template}, {"targets", pub_targets}, {"data", data}};
      if (!pub_channels.empty())
        body["channels"] = pub_channels;
      if (!pub_priority.empty())
        body["priority"] = pub_priority;
      auto j = engine.post(
        "/v1/admin/apps/" + escape_path(pub_app) + "/messages", body);
      print(opts, j, "message " + j["id"].dump() + " published\n");
    } else if (*crash) {
      auto j = engine.post("/v1/admin/debug/users/" + escape_path(crash_app) +
                           "/" + escape_path(crash_user) + "/crash");
      print(opts, j, "user actor #" + j["crashed"].dump() + " crashed\n");
    } else if (*channels) {
      auto j = engine.get("/v1/admin/channels" +
                          (channels_app.empty()
                             ? std::string{}
                             : "?app=" + escape_path(channels_app)));
      print(opts, j, herald::ctl::render_channels(j));
    } else if (*health) {
      json j{{"healthz", engine.get("/healthz")}};
      try {
        j["readyz"] = engine.get("/readyz");
      } catch (const herald::ctl::refused& e) {
        j["readyz"] = {{"status", "not ready"}, {"error", e.what()}};
      }
      print(opts, j,
            "live: " + j["healthz"].dump() + "\nready: " + j["readyz"].dump() +
              "\n");
    } else if (*metrics) {
      std::cout << engine.get_text("/metrics");
    }
  } catch (const herald::ctl::unreachable& e) {
    std::cerr << "heraldctl: " << e.what() << std::endl;
    return 2;
  } catch (const herald::ctl::refused& e) {
    std::cerr << "heraldctl: the engine refused: " << e.what();
    if (e.status == 401 || e.status == 403)
      std::cerr << " (check --token, --token-file, $HERALD_ADMIN_TOKEN or "
                   ".herald/admin-token)";
    if (e.status == 404)
      std::cerr << " (is --url the admin listener? the public port has no "
                   "admin routes)";
    std::cerr << std::endl;
    return e.status == 401 || e.status == 403 ? 3 : 1;
  } catch (const std::exception& e) {
    std::cerr << "heraldctl: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
