#include "net/api/debug_routes.hpp"

#include "actors/type_ids.hpp"
#include "actors/user/messages.hpp"
#include "core/api_error.hpp"
#include "core/app_directory.hpp"
#include "core/metrics.hpp"
#include "net/auth.hpp"
#include "net/stream/stream_context.hpp"
#include "storage/api_gateway.hpp"
#include "storage/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <tuple>
#include <variant>

namespace herald::net::api {

namespace {

using actors::inspect_atom_v;
using actors::trace_atom_v;
using nlohmann::json;

constexpr auto ask_timeout = std::chrono::seconds{5};
/// A trace asks the database and then each recipient's actor in turn.
constexpr auto trace_deadline = std::chrono::seconds{20};

/// Asks `target` from a short-lived actor (HTTP handlers run on I/O
/// threads, not in actors) and hands the answer to `then`. The question is
/// a tuple of the message's elements, so that a typed `target` checks it
/// (and that it answers with a string) at compile time.
template <class Handle, class... Ts>
void ask(caf::actor_system& sys, Handle target, std::tuple<Ts...> question,
         std::function<void(std::optional<std::string>)> then) {
  sys.spawn([target, question, then](caf::event_based_actor* self) {
    std::apply(
      [&](const auto&... xs) {
        return self->request(target, ask_timeout, xs...);
      },
      question)
      .then(
        [self, then](std::string& answer) {
          then(std::move(answer));
          self->quit();
        },
        [self, then](caf::error&) {
          then(std::nullopt);
          self->quit();
        });
    // Stays alive for the response only.
    return caf::behavior{[](actors::inspect_atom) {
    }};
  });
}

http_response unavailable(const std::string& what) {
  return json_error(503, "unavailable", what);
}

// The user a debug route names: its key and shard, or the error to answer.
struct user_target {
  actors::user_key key;
  actors::user_shard_actor shard;
};

std::variant<user_target, http_response> find_user(const debug_context& ctx,
                                                   const http_request& req) {
  auto app = ctx.apps->find(req.params.at("app"));
  if (!app)
    return json_error(404, "unknown_app", "no app " + req.params.at("app"));
  actors::user_key key{app->id, req.params.at("user")};
  auto shard = ctx.streams->shard_of(key);
  if (!shard)
    return unavailable("the user's shard is restarting");
  return user_target{std::move(key), std::move(shard)};
}

// Gauges read from the actor tree at scrape time.
void collect_samples(const json& node, std::vector<metrics::sample>& out) {
  auto kind = node.value("kind", std::string{});
  auto name = node.value("name", std::string{});
  if (kind == "supervisor") {
    out.push_back({"herald_supervisor_mailbox",
                   "Messages waiting in a supervisor's mailbox",
                   {{"supervisor", name}},
                   node.value("mailbox", 0.0)});
    out.push_back({"herald_supervisor_restarts",
                   "Children restarted by a supervisor since it started",
                   {{"supervisor", name}},
                   node.value("child_restarts", 0.0)});
  } else if (kind == "user_shard") {
    out.push_back({"herald_users_active",
                   "User actors running, by shard",
                   {{"shard", name}},
                   node.value("users", 0.0)});
    out.push_back({"herald_user_restarts",
                   "User actors restarted after a failure, by shard",
                   {{"shard", name}},
                   node.value("user_restarts", 0.0)});
  } else if (kind == "listener") {
    out.push_back({"herald_listener_reconnects",
                   "Times the outbox listener reconnected to PostgreSQL",
                   {},
                   node.value("reconnects", 0.0)});
  }
  if (node.contains("mailbox") && kind != "user")
    out.push_back({"herald_actor_mailbox",
                   "Messages waiting, by actor",
                   {{"kind", kind}, {"name", name}},
                   node.value("mailbox", 0.0)});
  if (node.contains("children") && kind != "user_shard")
    for (const auto& child : node["children"])
      collect_samples(child, out);
}

// The database half of a trace joined with what the recipients' user
// actors remember of their pushes. Runs in a blocking actor of its own.
json trace(caf::blocking_actor* self, const debug_context& ctx,
           int64_t message_id) {
  auto message = json::parse(ctx.database->call(
    "api_admin_message", std::nullopt, json{{"id", message_id}}.dump()));
  auto app_id = message["app_id"].get<int64_t>();
  for (auto& d : message["deliveries"]) {
    d["pushes"] = json::array();
    if (d["channel"] != "web" || d["seq"].is_null())
      continue;
    actors::user_key key{app_id, d["user"].get<std::string>()};
    auto shard = ctx.streams->shard_of(key);
    if (!shard)
      continue;
    self->request(shard, ask_timeout, trace_atom_v, key, message_id)
      .receive(
        [&](std::string& answer) {
          d["pushes"] = json::parse(answer, nullptr, false);
        },
        [&](caf::error&) { d["pushes"] = "unavailable"; });
  }
  return message;
}

} // namespace

void add_debug_routes(router& routes, std::shared_ptr<debug_context> ctx) {
  // Every route checks the admin token first.
  auto guarded = [ctx](auto handler) {
    return [ctx, handler](http_request& req, responder respond) {
      if (auto refusal = ctx->admin->check(req))
        return respond(std::move(*refusal));
      handler(req, std::move(respond));
    };
  };

  routes.add("GET", "/v1/admin/debug/tree",
             guarded([ctx](http_request&, responder respond) {
               auto root = ctx->root();
               if (!root)
                 return respond(unavailable("the engine is starting"));
               ask(*ctx->system, root, std::make_tuple(inspect_atom_v),
                   [respond](std::optional<std::string> tree) {
                     respond(tree ? json_response(200, std::move(*tree))
                                  : unavailable("the tree did not answer"));
                   });
             }));

  routes.add(
    "GET", "/v1/admin/debug/users/{app}/{user}",
    guarded([ctx](http_request& req, responder respond) {
      auto target = find_user(*ctx, req);
      if (auto error = std::get_if<http_response>(&target))
        return respond(std::move(*error));
      auto& user = std::get<user_target>(target);
      ask(*ctx->system, user.shard, std::make_tuple(inspect_atom_v, user.key),
          [respond, app = req.params.at("app"),
           name = user.key.external_id](std::optional<std::string> answer) {
            if (!answer)
              return respond(unavailable("the user's actor did not answer"));
            auto j = json::parse(*answer, nullptr, false);
            if (!j.is_object())
              return respond(unavailable("the user's actor did not answer"));
            j["app"] = app;
            j["user"] = name;
            if (!j.contains("active"))
              j["active"] = true;
            respond(json_response(200, j.dump()));
          });
    }));

  routes.add(
    "POST", "/v1/admin/debug/users/{app}/{user}/crash",
    guarded([ctx](http_request& req, responder respond) {
      auto target = find_user(*ctx, req);
      if (auto error = std::get_if<http_response>(&target))
        return respond(std::move(*error));
      auto user = std::get<user_target>(std::move(target));
      ask(*ctx->system, user.shard, std::make_tuple(inspect_atom_v, user.key),
          [respond, user](std::optional<std::string> answer) {
            auto j = json::parse(answer.value_or("null"), nullptr, false);
            if (!j.is_object() || j.value("active", true) == false)
              return respond(json_error(404, "user_not_active",
                                        "no actor runs for this user"));
            // The shard's supervision restarts it; its sessions stay.
            caf::anon_send(user.shard, actors::crash_atom_v, user.key);
            respond(json_response(
              202, json{{"crashed", j.value("id", uint64_t{0})}}.dump()));
          });
    }));

  routes.add(
    "GET", "/v1/admin/debug/messages/{id}/trace",
    guarded([ctx](http_request& req, responder respond) {
      auto& text = req.params.at("id");
      if (text.empty() || text.size() > 18 ||
          text.find_first_not_of("0123456789") != std::string::npos)
        return respond(
          json_error(400, "bad_field", "id: must be a positive integer"));
      auto id = std::stoll(text);
      // Always an answer: whichever comes first of the trace, its failure
      // or the deadline (a database that hangs, an actor that never
      // replies) responds; the others find it done.
      auto once = std::make_shared<std::atomic<bool>>(false);
      auto answer = [once, respond](http_response res) {
        if (!once->exchange(true))
          respond(std::move(res));
      };
      ctx->system->spawn([answer](caf::event_based_actor* self) {
        self->delayed_send(self, trace_deadline, inspect_atom_v);
        return caf::behavior{[self, answer](actors::inspect_atom) {
          answer(json_error(504, "trace_timeout",
                            "the trace took longer than " +
                              std::to_string(trace_deadline.count()) +
                              " s; retry"));
          self->quit();
        }};
      });
      ctx->system->spawn([ctx, id, answer](caf::blocking_actor* self) {
        try {
          answer(json_response(200, trace(self, *ctx, id).dump()));
        } catch (const api_error& e) {
          answer(json_error(e.status(), e.code(), e.what()));
        } catch (const storage::error& e) {
          answer(unavailable(e.what()));
        } catch (const std::exception& e) {
          answer(json_error(500, "trace_failed",
                            std::string{"the trace failed: "} + e.what()));
        } catch (...) {
          answer(json_error(500, "trace_failed", "the trace failed"));
        }
      });
    }));

  routes.add("GET", "/metrics",
             guarded([ctx](http_request&, responder respond) {
               auto answer = [respond](const std::vector<metrics::sample>& s) {
                 http_response res;
                 res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                 res.body = metrics::render(s);
                 res.headers.emplace_back("Cache-Control", "no-store");
                 respond(std::move(res));
               };
               auto root = ctx->root();
               if (!root)
                 return answer({});
               ask(*ctx->system, root, std::make_tuple(inspect_atom_v),
                   [answer](std::optional<std::string> tree) {
                     std::vector<metrics::sample> samples;
                     if (tree) {
                       auto j = json::parse(*tree, nullptr, false);
                       if (j.is_object())
                         collect_samples(j, samples);
                     }
                     answer(samples);
                   });
             }));
}

} // namespace herald::net::api
