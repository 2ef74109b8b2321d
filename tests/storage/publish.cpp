#define CAF_SUITE storage.publish

#include "fixtures/herald_database.hpp"

#include <caf/test/unit_test.hpp>

#include <pqxx/pqxx>

using namespace herald;

namespace {

struct fixture : test::herald_database {
  // The SQLSTATE and full text (message and hint) of what `sql` raises.
  std::pair<std::string, std::string> error_of(const std::string& sql) {
    pqxx::connection conn{url()};
    pqxx::nontransaction tx{conn};
    try {
      tx.exec(sql);
    } catch (const pqxx::sql_error& e) {
      return {e.sqlstate(), e.what()};
    }
    return {"", "no error"};
  }

  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(publish_tests, fixture)

CAF_TEST(publish returns the message id and wakes the listener) {
  pqxx::connection listener{url()};
  listener.get_notifs();
  pqxx::nontransaction{listener}.exec("LISTEN herald_outbox");
  auto id = publish("'shop', 'order_shipped', 'user:u1', '{\"order\":\"A\"}'");
  CAF_CHECK_GREATER(id, 0);
  CAF_CHECK_EQUAL(query_value("SELECT state FROM herald.outbox WHERE id = " +
                              std::to_string(id)),
                  "pending");
  CAF_CHECK_EQUAL(listener.await_notification(5, 0), 1);
}

CAF_TEST(a rolled back publish leaves nothing) {
  {
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    tx.exec("SELECT herald.publish('shop', 'order_shipped', 'user:u1',"
            " '{\"order\":\"A\"}')");
    tx.abort();
  }
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.outbox"), "0");
}

CAF_TEST(the same idempotency key returns the first message) {
  auto args = std::string{"'shop', 'order_shipped', ARRAY['user:u1'],"
                          " '{\"order\":\"A\"}', idempotency_key => 'k-1'"};
  auto first = publish(args);
  auto second = publish(args);
  CAF_CHECK_EQUAL(first, second);
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.outbox"), "1");
  auto other = publish("'shop', 'order_shipped', 'user:u1',"
                       " '{\"order\":\"A\"}', idempotency_key => 'k-2'");
  CAF_CHECK_NOT_EQUAL(other, first);
}

CAF_TEST(malformed calls raise with a hint) {
  struct bad_call {
    std::string args;
    std::string sqlstate;
    std::string says;
  };
  std::vector<bad_call> cases{
    {"'nope', 'order_shipped', 'user:u1'", "42704", "unknown app"},
    {"'shop', 'nope', 'user:u1'", "42704", "has no template"},
    {"'shop', 'order_shipped', 'user:u1', '[1,2]'", "22023",
     "vars must be a JSON object"},
    {"'shop', 'order_shipped', 'usr:u1'", "22023", "bad target"},
    {"'shop', 'order_shipped', 'user:'", "22023", "bad target"},
    {"'shop', 'order_shipped', ARRAY[]::text[]", "22023", "no target"},
    {"'shop', 'order_shipped', 'user:u1', '{}', ARRAY['fax']", "22023",
     "channel \"fax\" is not allowed"},
    {"'shop', 'order_shipped', 'user:u1', '{}', priority => 'urgent'", "22023",
     "bad priority"},
  };
  for (const auto& c : cases) {
    auto [state, text] = error_of("SELECT herald.publish(" + c.args + ")");
    CAF_MESSAGE("herald.publish(" << c.args << ") -> " << text);
    CAF_CHECK_EQUAL(state, c.sqlstate);
    CAF_CHECK(contains(text, c.says));
    CAF_CHECK(contains(text, "HINT:"));
  }
  exec("UPDATE herald.apps SET disabled = true");
  auto [state, text] = error_of("SELECT herald.publish('shop',"
                                " 'order_shipped', 'user:u1')");
  CAF_CHECK(contains(text, "is disabled"));
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.outbox"), "0");
}

CAF_TEST(a broken template is refused when applied or approved) {
  auto [state, text] =
    error_of("INSERT INTO herald.templates (app_id, code, web_body)"
             " VALUES (1, 'broken', 'Hi {{#items}}{{name}}')");
  CAF_CHECK_EQUAL(state, "22023");
  CAF_CHECK(contains(text, "section \"items\" is never closed"));
  CAF_CHECK(contains(text, "HINT:"));
  for (const auto& body : {"{{> partial}}", "{{=<% %>=}}", "{{#a}}{{/b}}",
                           "{{/a}}", "{{ }}", "{{unclosed"}) {
    auto [s, t] = error_of(
      "INSERT INTO herald.templates (app_id, code, sms_body) VALUES (1, 'x', " +
      std::string{"'"} + body + "')");
    CAF_MESSAGE(body << " -> " << t);
    CAF_CHECK_EQUAL(s, "22023");
  }
  exec("INSERT INTO herald.templates (app_id, code, sms_body)"
       " VALUES (1, 'fine', 'Hi {{{name}}} {{! note }} {{#l}}{{.}}{{/l}}')");
  auto [s2, t2] = error_of("UPDATE herald.templates SET status = 'approved',"
                           " sms_body = 'Hi {{#l}}' WHERE code = 'fine'");
  CAF_CHECK_EQUAL(s2, "22023");
  CAF_CHECK_EQUAL(query_value("SELECT status FROM herald.templates"
                              " WHERE code = 'fine'"),
                  "pending");
}

CAF_TEST(approving a version retires the one approved before) {
  exec("INSERT INTO herald.templates (app_id, code, web_body)"
       " VALUES (1, 'order_shipped', 'v2 {{order}}')");
  CAF_CHECK_EQUAL(query_value("SELECT max(version) FROM herald.templates"
                              " WHERE code = 'order_shipped'"),
                  "2");
  exec("UPDATE herald.templates SET status = 'approved'"
       " WHERE code = 'order_shipped' AND version = 2");
  CAF_CHECK_EQUAL(query_value("SELECT string_agg(version || '=' || status, ','"
                              " ORDER BY version) FROM herald.templates"
                              " WHERE code = 'order_shipped'"),
                  "1=retired,2=approved");
}

CAF_TEST(template versions are never deleted) {
  auto [state, text] =
    error_of("DELETE FROM herald.templates WHERE code = 'order_shipped'");
  CAF_CHECK_EQUAL(state, "23001"); // restrict_violation
  CAF_CHECK(contains(text, "never deleted"));
  CAF_CHECK(contains(text, "HINT:"));
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.templates"
                              " WHERE code = 'order_shipped'"),
                  "1");
}

CAF_TEST(apps are never deleted) {
  for (const auto* sql : {"DELETE FROM herald.apps WHERE name = 'shop'",
                          "TRUNCATE herald.apps CASCADE"}) {
    auto [state, text] = error_of(sql);
    CAF_MESSAGE(sql << " -> " << text);
    CAF_CHECK_EQUAL(state, "23001"); // restrict_violation
    CAF_CHECK(contains(text, "never deleted"));
    CAF_CHECK(contains(text, "HINT:"));
  }
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.apps"
                              " WHERE name = 'shop'"),
                  "1");
}

CAF_TEST(watch_table refuses bad arguments with a hint) {
  exec("CREATE TABLE orders (id serial, merchant text)");
  auto check = [&](const std::string& args, const std::string& says) {
    auto [state, text] = error_of("SELECT herald.watch_table(" + args + ")");
    CAF_MESSAGE(args << " -> " << text);
    CAF_CHECK(contains(text, says));
    CAF_CHECK(contains(text, "HINT:"));
  };
  check("'orders', 'nope', 'order_shipped', '''merchant:'' || merchant'",
        "unknown app");
  check("'orders', 'shop', 'nope', '''merchant:'' || merchant'",
        "has no template");
  check("'orders', 'shop', 'order_shipped', 'no_such_column'", "does not work");
  check("'orders', 'shop', 'order_shipped', '''m:'' || merchant',"
        " '{truncate}'",
        "bad events");
  exec("SELECT herald.watch_table('orders', 'shop', 'order_shipped',"
       " '''merchant:'' || merchant')");
  CAF_CHECK_EQUAL(query_value("SELECT herald.unwatch_table('orders',"
                              " 'order_shipped')"),
                  "t");
  CAF_CHECK_EQUAL(query_value("SELECT herald.unwatch_table('orders',"
                              " 'order_shipped')"),
                  "f");
}

CAF_TEST_FIXTURE_SCOPE_END()
