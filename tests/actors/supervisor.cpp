#define CAF_SUITE actors.supervisor

#include "actors/supervisor.hpp"

#include "actors/errc.hpp"
#include "actors/type_ids.hpp"
#include "fixtures/actor_system.hpp"

#include <nlohmann/json.hpp>

using namespace herald;
using namespace herald::actors;

namespace {

// A child that fails on crash_atom and stops normally on tick_atom.
caf::behavior worker(caf::event_based_actor* self) {
  return {
    [self](crash_atom) { self->quit(caf::make_error(errc::injected_crash)); },
    [self](tick_atom) { self->quit(); },
    [](inspect_atom) { return std::string{R"({"kind":"worker"})"}; },
  };
}

child_spec worker_spec(std::string name,
                       restart_policy policy = restart_policy::permanent) {
  return child_spec{
    std::move(name),
    [](caf::event_based_actor* parent) { return parent->spawn(worker); },
    policy};
}

struct fixture : test::actor_fixture {
  caf::actor sup;

  void start(std::vector<child_spec> children, size_t max_restarts = 3) {
    supervisor_options opts;
    opts.max_restarts = max_restarts;
    opts.window = std::chrono::seconds{10};
    sup = sys.spawn(supervisor, std::string{"test"}, opts, std::move(children));
    run();
  }

  supervisor_state& state(const caf::actor& hdl) {
    return deref<supervisor_actor>(hdl).state;
  }

  caf::actor child(size_t index) {
    return state(sup).children.at(index).handle;
  }

  void crash(const caf::actor& hdl) {
    self->send(hdl, crash_atom_v);
    run();
  }

  bool exited(const caf::actor& hdl) {
    return caf::actor_cast<caf::abstract_actor*>(hdl)->getf(
      caf::abstract_actor::is_terminated_flag);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(a crashed child is restarted alone) {
  start({worker_spec("a"), worker_spec("b")});
  auto a = child(0);
  auto b = child(1);
  crash(a);
  CAF_CHECK(exited(a));
  CAF_CHECK_NOT_EQUAL(child(0), a);
  CAF_CHECK(child(0) != nullptr);
  CAF_CHECK_EQUAL(child(1), b);
  CAF_CHECK_EQUAL(state(sup).children[0].restarts, 1u);
  CAF_CHECK_EQUAL(state(sup).children[1].restarts, 0u);
  CAF_CHECK(!exited(sup));
}

CAF_TEST(too many restarts within the window escalate) {
  start({worker_spec("a"), worker_spec("b")}, 2);
  auto b = child(1);
  crash(child(0));
  crash(child(0));
  CAF_CHECK(!exited(sup));
  crash(child(0));
  CAF_CHECK(exited(sup));
  CAF_CHECK(exited(b));
}

CAF_TEST(restarts outside the window do not count) {
  start({worker_spec("a")}, 2);
  for (int i = 0; i < 5; ++i) {
    crash(child(0));
    advance_time(std::chrono::seconds{6});
  }
  CAF_CHECK(!exited(sup));
  CAF_CHECK_EQUAL(state(sup).total_restarts, 5u);
}

CAF_TEST(policies decide what is restarted) {
  start({worker_spec("temp", restart_policy::temporary),
         worker_spec("trans", restart_policy::transient),
         worker_spec("perm", restart_policy::permanent)});
  crash(child(0));
  CAF_CHECK(child(0) == nullptr);
  // A normal exit of a transient child is final, of a permanent one not.
  self->send(child(1), tick_atom_v);
  self->send(child(2), tick_atom_v);
  run();
  CAF_CHECK(child(1) == nullptr);
  CAF_CHECK(child(2) != nullptr);
  CAF_CHECK_EQUAL(state(sup).children[2].restarts, 1u);
}

CAF_TEST(an exit message stops the supervisor and its children) {
  start({worker_spec("a"), worker_spec("b")});
  auto a = child(0);
  auto b = child(1);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK(exited(sup));
  CAF_CHECK(exited(a));
  CAF_CHECK(exited(b));
}

CAF_TEST(a nested supervisor that gives up is restarted by its parent) {
  supervisor_options inner_opts;
  inner_opts.max_restarts = 0;
  start({supervisor_child("inner", inner_opts, {worker_spec("w")})});
  auto inner = child(0);
  auto w = state(inner).children[0].handle;
  crash(w);
  CAF_CHECK(exited(inner));
  auto new_inner = child(0);
  CAF_REQUIRE(new_inner != nullptr);
  CAF_CHECK_NOT_EQUAL(new_inner, inner);
  CAF_CHECK(state(new_inner).children[0].handle != nullptr);
  CAF_CHECK_EQUAL(state(sup).children[0].restarts, 1u);
}

CAF_TEST(inspect describes the children) {
  start({worker_spec("a"), worker_spec("b")});
  crash(child(1));
  auto text = request<std::string>(sup, inspect_atom_v);
  auto j = nlohmann::json::parse(text);
  CAF_CHECK_EQUAL(j["kind"], "supervisor");
  CAF_CHECK_EQUAL(j["name"], "test");
  CAF_CHECK_EQUAL(j["child_restarts"], 1);
  CAF_REQUIRE_EQUAL(j["children"].size(), 2u);
  CAF_CHECK_EQUAL(j["children"][1]["name"], "b");
  CAF_CHECK_EQUAL(j["children"][1]["restarts"], 1);
  CAF_CHECK_EQUAL(j["children"][1]["id"], child(1).id());
  // Each child's own description is part of the tree.
  CAF_CHECK_EQUAL(j["children"][0]["kind"], "worker");
  CAF_CHECK_EQUAL(j["children"][1]["state"], "running");
}

CAF_TEST_FIXTURE_SCOPE_END()
