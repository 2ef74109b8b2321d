#include "actors/user/user_shard.hpp"

#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "actors/user/routing.hpp"
#include "core/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <map>

namespace herald::actors {

namespace {

struct attached {
  weak_session_ptr session;
  int64_t last_seq = 0;
  bool poll = false;
  bool immediate = false;
};

struct user_entry {
  caf::actor actor;
  std::map<uint64_t, attached> sessions;
  size_t restarts = 0;
};

struct shard_state {
  size_t index = 0;
  user_options opts;
  std::map<user_key, user_entry> users;
  size_t started = 0;
  size_t restarts = 0;
  static inline const char* name = "user_shard";
};

using shard_actor = caf::stateful_actor<shard_state>;

caf::actor& ensure_actor(shard_actor* self, const user_key& key) {
  auto& entry = self->state.users[key];
  if (!entry.actor) {
    entry.actor = spawn_user_actor(self, key, self->state.opts);
    self->monitor(entry.actor);
    ++self->state.started;
  }
  return entry.actor;
}

// Sends every live session of `entry` to its (new) user actor.
void reattach(shard_actor* self, const user_key& key, user_entry& entry) {
  for (auto it = entry.sessions.begin(); it != entry.sessions.end();) {
    auto session = it->second.session.lock();
    if (!session) {
      it = entry.sessions.erase(it);
      continue;
    }
    auto position = it->second.poll
                      ? it->second.last_seq
                      : std::max(it->second.last_seq, session->acked_seq());
    self->send(entry.actor,
               attach_session{key, std::move(session), position,
                              it->second.poll, it->second.immediate});
    ++it;
  }
}

void on_down(shard_actor* self, const caf::down_msg& msg) {
  auto& users = self->state.users;
  for (auto it = users.begin(); it != users.end(); ++it) {
    auto& entry = it->second;
    if (entry.actor.address() != msg.source)
      continue;
    entry.actor = nullptr;
    // Drop sessions that are gone, then decide.
    for (auto s = entry.sessions.begin(); s != entry.sessions.end();)
      s = s->second.session.expired() ? entry.sessions.erase(s) : ++s;
    bool failed = msg.reason && msg.reason != caf::exit_reason::normal;
    if (!failed && entry.sessions.empty()) {
      users.erase(it); // passivated
      return;
    }
    if (failed) {
      ++entry.restarts;
      ++self->state.restarts;
      log::get("actors")->warn("user {}/{} failed ({}); restarting with {} "
                               "session(s)",
                               it->first.app_id, it->first.external_id,
                               self->system().render(msg.reason),
                               entry.sessions.size());
    }
    ensure_actor(self, it->first);
    reattach(self, it->first, entry);
    return;
  }
}

// A shard can hold many thousands of users: the tree shows the first ones.
constexpr size_t described_users = 200;

// Forwards a question to the user's actor; `otherwise` when it has none
// (the user is not active on this node).
caf::result<std::string> ask_user(shard_actor* self, const user_key& key,
                                  caf::message question,
                                  std::string otherwise) {
  auto it = self->state.users.find(key);
  if (it == self->state.users.end() || !it->second.actor)
    return otherwise;
  auto rp = self->make_response_promise<std::string>();
  self->request(it->second.actor, std::chrono::seconds{2}, std::move(question))
    .then([rp](std::string& answer) mutable { rp.deliver(std::move(answer)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

std::string describe(shard_actor* self) {
  nlohmann::json children = nlohmann::json::array();
  for (const auto& [key, entry] : self->state.users) {
    if (children.size() == described_users)
      break;
    children.push_back(
      {{"kind", "user"},
       {"name", std::to_string(key.app_id) + "/" + key.external_id},
       {"id", entry.actor ? entry.actor.id() : 0},
       {"state", entry.actor ? "running" : "restarting"},
       {"sessions", entry.sessions.size()},
       {"restarts", entry.restarts}});
  }
  return nlohmann::json{{"kind", "user_shard"},
                        {"id", self->id()},
                        {"index", self->state.index},
                        {"users", self->state.users.size()},
                        {"started", self->state.started},
                        {"user_restarts", self->state.restarts},
                        {"mailbox", self->mailbox().size()},
                        {"children", std::move(children)}}
    .dump();
}

caf::behavior shard_behavior(shard_actor* self, size_t index,
                             user_options options) {
  self->state.index = index;
  self->state.opts = options;
  auto& sys = self->system();
  auto name = shard_name(index);
  sys.registry().put(name, self);
  self->attach_functor([&sys, name, addr = self->address()](const caf::error&) {
    auto current = sys.registry().get(name);
    if (current && current->address() == addr)
      sys.registry().erase(name);
  });
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [key, entry] : self->state.users)
      if (entry.actor)
        self->send_exit(entry.actor, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [self](attach_session& msg) {
      if (!msg.session)
        return;
      auto& entry = self->state.users[msg.user];
      entry.sessions[msg.session->id()] = {msg.session, msg.last_seq, msg.poll,
                                           msg.immediate};
      self->send(ensure_actor(self, msg.user), std::move(msg));
    },
    [self](const detach_session& msg) {
      auto it = self->state.users.find(msg.user);
      if (it == self->state.users.end())
        return;
      it->second.sessions.erase(msg.session_id);
      if (it->second.actor)
        self->send(it->second.actor, msg);
    },
    [self](const client_ack& msg) {
      auto it = self->state.users.find(msg.user);
      if (it != self->state.users.end() && it->second.actor)
        self->send(it->second.actor, msg);
    },
    [self](const client_read& msg) {
      self->send(ensure_actor(self, msg.user), msg);
    },
    [self](user_deliveries& msg) {
      std::map<user_key, user_deliveries> by_user;
      for (auto& d : msg.deliveries) {
        user_key key{d.app_id, d.external_id};
        auto it = self->state.users.find(key);
        if (it != self->state.users.end() && it->second.actor)
          by_user[key].deliveries.push_back(std::move(d));
      }
      for (auto& [key, batch] : by_user)
        self->send(self->state.users[key].actor, std::move(batch));
    },
    [self](crash_atom, const user_key& key) {
      auto it = self->state.users.find(key);
      if (it != self->state.users.end() && it->second.actor)
        self->send(it->second.actor, crash_atom_v);
    },
    [self](inspect_atom) { return describe(self); },
    [self](inspect_atom, const user_key& key) -> caf::result<std::string> {
      return ask_user(self, key, caf::make_message(inspect_atom_v),
                      R"({"kind":"user","active":false})");
    },
    [self](trace_atom, const user_key& key,
           int64_t message_id) -> caf::result<std::string> {
      return ask_user(self, key, caf::make_message(trace_atom_v, message_id),
                      "[]");
    },
  };
}

struct router_state {
  size_t shards = 1;
  size_t routed = 0;
  static inline const char* name = "user_router";
};

using router_actor = caf::stateful_actor<router_state>;

caf::behavior router_behavior(router_actor* self, size_t shards) {
  self->state.shards = std::max<size_t>(1, shards);
  auto& sys = self->system();
  sys.registry().put(names::users, self);
  self->attach_functor([&sys, addr = self->address()](const caf::error&) {
    auto current = sys.registry().get(names::users);
    if (current && current->address() == addr)
      sys.registry().erase(names::users);
  });
  return {
    [self](deliveries_committed& msg) {
      auto& st = self->state;
      std::vector<user_deliveries> per_shard(st.shards);
      for (auto& d : msg.deliveries) {
        if (d.channel != "web" || !d.seq)
          continue; // the web inbox only; channels have their own actors
        auto i = shard_index({d.app_id, d.external_id}, st.shards);
        per_shard[i].deliveries.push_back(std::move(d));
      }
      for (size_t i = 0; i < st.shards; ++i) {
        if (per_shard[i].deliveries.empty())
          continue;
        st.routed += per_shard[i].deliveries.size();
        if (auto shard =
              self->system().registry().get<caf::actor>(shard_name(i)))
          self->send(shard, std::move(per_shard[i]));
      }
    },
    [self](inspect_atom) {
      return nlohmann::json{{"kind", "user_router"},
                            {"id", self->id()},
                            {"mailbox", self->mailbox().size()},
                            {"shards", self->state.shards},
                            {"routed", self->state.routed}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_user_shard(caf::event_based_actor* parent, size_t index,
                            user_options options) {
  return parent->spawn(shard_behavior, index, options);
}

caf::actor spawn_user_router(caf::event_based_actor* parent, size_t shards) {
  return parent->spawn(router_behavior, shards);
}

} // namespace herald::actors
