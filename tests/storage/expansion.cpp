#define CAF_SUITE storage.expansion

#include "storage/expansion.hpp"

#include "core/rendered_json.hpp"
#include "fixtures/herald_database.hpp"

#include <caf/test/unit_test.hpp>

#include <pqxx/pqxx>

#include <thread>

using namespace herald;

namespace {

// Renders with the real renderer, as the template actors do.
storage::render_outcome render(const storage::claimed_message& msg) {
  if (!msg.approved)
    return storage::render_outcome::rejected("template_not_approved",
                                             "no approved version");
  auto compiled = compiled_template::compile(msg.approved->source);
  if (auto err = std::get_if<template_error>(&compiled))
    return storage::render_outcome::rejected(err->code, err->message);
  auto out = render_json(std::get<compiled_template>(compiled), msg.vars_json,
                         msg.channels);
  if (auto err = std::get_if<template_error>(&out))
    return storage::render_outcome::rejected(err->code, err->message);
  return storage::render_outcome::rendered(std::get<std::string>(out));
}

struct fixture : test::herald_database {
  storage::outbox_expander expander{url()};

  storage::batch_result expand(size_t limit = 500) {
    return expander.expand_batch(limit, render);
  }

  std::string outbox(int64_t id, const std::string& column) {
    return query_value("SELECT " + column +
                       " FROM herald.outbox WHERE id = " + std::to_string(id));
  }

  // "user:channel:seq:state" of a message's deliveries, sorted.
  std::string deliveries_of(int64_t id) {
    return query_value(
      "SELECT string_agg(u.external_id || ':' || d.channel || ':'"
      " || coalesce(d.seq::text, '-') || ':' || d.state, ' '"
      " ORDER BY u.external_id, d.channel)"
      " FROM herald.deliveries d JOIN herald.users u ON u.id = d.user_id"
      " WHERE d.message_id = " +
      std::to_string(id));
  }
};

const std::string order_a = "'{\"order\":\"A\"}'";

} // namespace

CAF_TEST_FIXTURE_SCOPE(expansion_tests, fixture)

CAF_TEST(a message becomes rendered deliveries) {
  auto id = publish("'shop', 'order_shipped', 'user:u1', " + order_a);
  auto result = expand();
  CAF_CHECK_EQUAL(result.claimed, 1u);
  CAF_CHECK_EQUAL(result.deliveries.size(), 2u);
  CAF_CHECK_EQUAL(outbox(id, "state"), "processed");
  CAF_CHECK_EQUAL(outbox(id, "recipients"), "1");
  CAF_CHECK_EQUAL(outbox(id, "rendered->'web'->>'body'"),
                  "Your order <b>A</b> has shipped");
  CAF_CHECK_EQUAL(outbox(id, "rendered->'sms'->>'body'"), "Order A shipped");
  CAF_CHECK_EQUAL(deliveries_of(id), "u1:sms:-:pending u1:web:1:pending");
  CAF_CHECK_EQUAL(expand().claimed, 0u);
}

CAF_TEST(a late commit is expanded once and sequenced after) {
  pqxx::connection conn_a{url()};
  pqxx::work tx_a{conn_a};
  auto a = tx_a
             .exec("SELECT herald.publish('shop', 'order_shipped',"
                   " 'user:u1', '{\"order\":\"A\"}')")[0][0]
             .as<int64_t>();
  auto b = publish("'shop', 'order_shipped', 'user:u1', "
                   "'{\"order\":\"B\"}'");
  CAF_CHECK_LESS(a, b); // A took its id first but commits last
  CAF_CHECK_EQUAL(expand().claimed, 1u);
  tx_a.commit();
  CAF_CHECK_EQUAL(expand().claimed, 1u);
  CAF_CHECK_EQUAL(expand().claimed, 0u);
  // Per user, seq follows the order the expander saw them, with no gap.
  CAF_CHECK_EQUAL(deliveries_of(b), "u1:sms:-:pending u1:web:1:pending");
  CAF_CHECK_EQUAL(deliveries_of(a), "u1:sms:-:pending u1:web:2:pending");
}

CAF_TEST(a rolled back publish is never expanded) {
  {
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    tx.exec("SELECT herald.publish('shop', 'order_shipped', 'user:u1',"
            " '{\"order\":\"A\"}')");
  } // destroyed without commit: rolled back
  CAF_CHECK_EQUAL(expand().claimed, 0u);
  CAF_CHECK_EQUAL(count_deliveries(), 0);
}

CAF_TEST(a merchant target reaches its users and its stores users once) {
  auto id = publish("'shop', 'order_shipped', 'merchant:m1', " + order_a +
                    ", ARRAY['web']");
  expand();
  // boss belongs to m1; u1 is in s1 and s2, u2 in s2; u3 is m2's.
  CAF_CHECK_EQUAL(deliveries_of(id),
                  "boss:web:1:pending u1:web:1:pending u2:web:1:pending");
  CAF_CHECK_EQUAL(outbox(id, "recipients"), "3");
}

CAF_TEST(overlapping targets deliver once per user and channel) {
  auto id = publish("'shop', 'order_shipped', ARRAY['store:s1', 'store:s2',"
                    " 'topic:news', 'user:u1'], " +
                    order_a + ", ARRAY['web']");
  expand();
  CAF_CHECK_EQUAL(deliveries_of(id),
                  "u1:web:1:pending u2:web:1:pending u3:web:1:pending");
}

CAF_TEST(opted out deliveries are kept as suppressed with the reason) {
  exec("INSERT INTO herald.preferences (user_id, message_type, channel,"
       " enabled) VALUES (" +
       std::to_string(user_id("u1")) + ", 'order_shipped', 'sms', false)");
  auto id = publish("'shop', 'order_shipped', 'user:u1', " + order_a);
  expand();
  CAF_CHECK_EQUAL(deliveries_of(id), "u1:sms:-:suppressed u1:web:1:pending");
  CAF_CHECK_EQUAL(query_value("SELECT reason_code FROM herald.deliveries"
                              " WHERE state = 'suppressed'"),
                  "opted_out");
}

CAF_TEST(an opt out of everything suppresses the web inbox too) {
  exec("INSERT INTO herald.preferences (user_id, enabled) VALUES (" +
       std::to_string(user_id("u2")) + ", false)");
  auto id = publish("'shop', 'order_shipped', ARRAY['user:u1', 'user:u2'], " +
                    order_a + ", ARRAY['web']");
  auto later = publish("'shop', 'order_shipped', 'user:u2', " + order_a +
                       ", ARRAY['web']");
  expand();
  CAF_CHECK_EQUAL(deliveries_of(id), "u1:web:1:pending u2:web:-:suppressed");
  // Suppressed deliveries take no seq: the user's stream has no gap.
  CAF_CHECK_EQUAL(deliveries_of(later), "u2:web:-:suppressed");
}

CAF_TEST(hourly caps suppress the excess with the reason) {
  exec("INSERT INTO herald.preferences (user_id, hourly_cap) VALUES (" +
       std::to_string(user_id("u1")) + ", 2)");
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(publish("'shop', 'order_shipped', 'user:u1', " + order_a +
                          ", ARRAY['web']"));
  expand();
  ids.push_back(publish("'shop', 'order_shipped', 'user:u1', " + order_a +
                        ", ARRAY['web']"));
  expand();
  CAF_CHECK_EQUAL(deliveries_of(ids[0]), "u1:web:1:pending");
  CAF_CHECK_EQUAL(deliveries_of(ids[1]), "u1:web:2:pending");
  CAF_CHECK_EQUAL(deliveries_of(ids[2]), "u1:web:-:suppressed");
  CAF_CHECK_EQUAL(deliveries_of(ids[3]), "u1:web:-:suppressed");
  CAF_CHECK_EQUAL(count_deliveries("reason_code = 'hourly_cap'"), 2);
}

CAF_TEST(quiet hours hold sms until the window ends unless critical) {
  exec("INSERT INTO herald.preferences (user_id, quiet_start, quiet_end)"
       " VALUES (" +
       std::to_string(user_id("u1")) +
       ", (now() - interval '1 hour')::time,"
       " (now() + interval '1 hour')::time)");
  auto normal = publish("'shop', 'order_shipped', 'user:u1', " + order_a);
  auto critical = publish("'shop', 'order_shipped', 'user:u1', " + order_a +
                          ", priority => 'critical'");
  expand();
  auto held = [&](int64_t id) {
    return query_value("SELECT next_attempt_at > now() + interval '30 min'"
                       " FROM herald.deliveries WHERE channel = 'sms'"
                       " AND message_id = " +
                       std::to_string(id));
  };
  CAF_CHECK_EQUAL(held(normal), "t");
  CAF_CHECK_EQUAL(held(critical), "f");
  // The web inbox has no quiet hours.
  CAF_CHECK_EQUAL(deliveries_of(normal), "u1:sms:-:pending u1:web:1:pending");
}

CAF_TEST(messages that cannot be processed are rejected with a reason) {
  exec("INSERT INTO herald.templates (app_id, code, web_body)"
       " VALUES (1, 'draft', 'not yet {{x}}')");
  auto unapproved = publish("'shop', 'draft', 'user:u1', '{\"x\":1}'");
  auto missing = publish("'shop', 'order_shipped', 'user:u1', '{}'");
  auto unknown = publish("'shop', 'order_shipped', 'user:ghost', " + order_a);
  auto partly = publish("'shop', 'order_shipped', ARRAY['user:ghost',"
                        " 'user:u1'], " +
                        order_a + ", ARRAY['web']");
  auto wrong_channel = publish("'shop', 'order_shipped', 'user:u1', " +
                               order_a + ", ARRAY['mobile']");
  auto after = publish("'shop', 'order_shipped', 'user:u2', " + order_a);
  auto result = expand();
  CAF_CHECK_EQUAL(result.claimed, 6u);
  auto state = [&](int64_t id) {
    return outbox(id, "state || ':' || coalesce(reject_code, '-')");
  };
  CAF_CHECK_EQUAL(state(unapproved), "rejected:template_not_approved");
  CAF_CHECK_EQUAL(state(missing), "rejected:missing_variable");
  CAF_CHECK(outbox(missing, "reject_message").find("order") !=
            std::string::npos);
  CAF_CHECK_EQUAL(state(unknown), "rejected:unknown_target");
  CAF_CHECK_EQUAL(outbox(unknown, "reject_message"), "no such user:ghost");
  CAF_CHECK_EQUAL(state(partly), "processed:-");
  CAF_CHECK_EQUAL(outbox(partly, "unresolved_targets"), "{user:ghost}");
  CAF_CHECK_EQUAL(state(wrong_channel), "rejected:channel_not_in_template");
  // A rejected message never blocks the rows behind it.
  CAF_CHECK_EQUAL(state(after), "processed:-");
  CAF_CHECK_EQUAL(count_deliveries("message_id IN (" +
                                   std::to_string(unapproved) + "," +
                                   std::to_string(missing) + "," +
                                   std::to_string(unknown) + ")"),
                  0);
}

CAF_TEST(two expanders at once expand every message exactly once) {
  constexpr int messages = 600;
  exec("INSERT INTO herald.outbox (app_id, template_code, targets, vars,"
       " channels) SELECT 1, 'order_shipped', ARRAY['merchant:m1',"
       " 'topic:news'], jsonb_build_object('order', g), ARRAY['web']"
       " FROM generate_series(1, " +
       std::to_string(messages) + ") g");
  std::atomic<size_t> claimed{0};
  auto work = [&] {
    storage::outbox_expander mine{url()};
    for (;;) {
      auto r = mine.expand_batch(25, render);
      if (r.claimed == 0)
        return;
      claimed += r.claimed;
    }
  };
  std::thread one{work};
  std::thread two{work};
  one.join();
  two.join();
  CAF_CHECK_EQUAL(claimed.load(), static_cast<size_t>(messages));
  // merchant:m1 + topic:news = boss, u1, u2, u3: four users each.
  CAF_CHECK_EQUAL(count_deliveries(), 4 * messages);
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.outbox"
                              " WHERE state <> 'processed'"),
                  "0");
  // Every user's seqs are exactly 1..messages.
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM (SELECT user_id FROM"
                              " herald.deliveries GROUP BY user_id HAVING"
                              " min(seq) = 1 AND max(seq) = count(*)"
                              " AND count(DISTINCT seq) = count(*)) ok"),
                  "4");
  CAF_CHECK_EQUAL(query_value("SELECT max(seq) FROM herald.deliveries"),
                  std::to_string(messages));
}

CAF_TEST(watch_table publishes for rows of the producer own table) {
  exec("CREATE TABLE orders (id serial PRIMARY KEY, merchant text,"
       " number text, status text)");
  exec("INSERT INTO herald.templates (app_id, code, web_title, web_body,"
       " status) VALUES (1, 'order_update', 'Order {{number}}',"
       " 'Order {{number}} is {{status}}', 'approved')");
  exec("SELECT herald.watch_table('orders', 'shop', 'order_update',"
       " $$CASE WHEN status = 'shipped' THEN 'merchant:' || merchant END$$)");
  exec("INSERT INTO orders (merchant, number, status)"
       " VALUES ('m1', 'A-1', 'shipped'), ('m2', 'A-2', 'new')");
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.outbox"), "1");
  exec("UPDATE orders SET status = 'shipped' WHERE number = 'A-2'");
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.outbox"), "2");
  expand();
  CAF_CHECK_EQUAL(
    query_value("SELECT string_agg(DISTINCT u.external_id, ',')"
                " FROM herald.deliveries d JOIN herald.users u"
                " ON u.id = d.user_id JOIN herald.outbox o"
                " ON o.id = d.message_id WHERE o.vars->>'number' = 'A-1'"),
    "boss,u1,u2");
  CAF_CHECK_EQUAL(
    query_value("SELECT string_agg(DISTINCT u.external_id, ',')"
                " FROM herald.deliveries d JOIN herald.users u"
                " ON u.id = d.user_id JOIN herald.outbox o"
                " ON o.id = d.message_id WHERE o.vars->>'number' = 'A-2'"),
    "u3");
  CAF_CHECK_EQUAL(query_value("SELECT rendered->'web'->>'title' FROM"
                              " herald.outbox WHERE vars->>'number' = 'A-2'"),
                  "Order A-2");
  CAF_CHECK_EQUAL(query_value("SELECT vars->>'_op' FROM herald.outbox"
                              " WHERE vars->>'number' = 'A-2'"),
                  "update");
}

CAF_TEST_FIXTURE_SCOPE_END()
