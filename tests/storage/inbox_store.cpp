#define CAF_SUITE storage.inbox

#include "storage/inbox_store.hpp"

#include "fixtures/engine_render.hpp"
#include "fixtures/herald_database.hpp"
#include "storage/expansion.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace herald;

namespace {

struct fixture : test::herald_database {
  storage::outbox_expander expander{url()};
  storage::inbox_store store{url()};

  // A message to `user` with `pad` bytes of vars besides the order; into
  // the log at once. Returns its position.
  int64_t send(const std::string& user, const std::string& code,
               size_t pad = 0) {
    auto id =
      publish("'shop', '" + code + "', 'user:" + user +
              "', jsonb_build_object('order', 'A', 'pad', repeat('x', " +
              std::to_string(pad) + "))");
    while (expander.expand_batch(100, test::render_as_engine).read > 0) {
    }
    return std::stoll(query_value("SELECT position FROM herald.outbox"
                                  " WHERE id = " +
                                  std::to_string(id)));
  }

  int64_t head() {
    return std::stoll(query_value("SELECT herald.log_position()"));
  }

  storage::feed_read read(const std::string& user, int64_t after, size_t limit,
                          size_t max_bytes = 1024 * 1024) {
    storage::feed_range range;
    range.user_id = user_id(user);
    range.after = after;
    range.through = head();
    range.limit = limit;
    range.max_bytes = max_bytes;
    return store.load_feeds({range}).at(0);
  }

  // A page of u1's history as GET /v1/me/messages answers it.
  nlohmann::json history(const std::string& args) {
    return nlohmann::json::parse(
      query_value("SELECT herald.api_my_messages((SELECT id FROM herald.apps"
                  " WHERE name = 'shop'), '" +
                  args + "')::text"));
  }

  void opt_out_of_promos(const std::string& user) {
    exec("INSERT INTO herald.templates (app_id, code, web_title, web_body,"
         " status) SELECT id, 'promo', 'Sale', 'Everything must go',"
         " 'approved' FROM herald.apps WHERE name = 'shop'");
    exec("INSERT INTO herald.preferences (user_id, message_type, channel,"
         " enabled) VALUES (" +
         std::to_string(user_id(user)) + ", 'promo', 'web', false)");
  }

  static std::vector<int64_t> seqs(const storage::feed_read& r) {
    std::vector<int64_t> out;
    for (const auto& d : r.deliveries)
      out.push_back(d.seq);
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(inbox_store_tests, fixture)

CAF_TEST(a read short of messages the user opted out of is not complete) {
  opt_out_of_promos("u1");
  send("u1", "promo");
  send("u1", "promo");
  auto first = send("u1", "order_shipped");
  auto second = send("u1", "order_shipped");
  auto third = send("u1", "order_shipped");
  // Three entries read, two of them left out: the range is known as far
  // as the third entry, not to its end.
  auto r = read("u1", 0, 3);
  CAF_CHECK_EQUAL(seqs(r), std::vector<int64_t>({first}));
  CAF_CHECK_EQUAL(r.complete_through, first);
  auto rest = read("u1", r.complete_through, 3);
  CAF_CHECK_EQUAL(seqs(rest), std::vector<int64_t>({second, third}));
  CAF_CHECK_EQUAL(rest.complete_through, head());
}

CAF_TEST(a read picks each message s preference as web_preference does) {
  exec("INSERT INTO herald.templates (app_id, code, web_title, web_body,"
       " status) SELECT id, 'promo', 'Sale', 'Everything must go',"
       " 'approved' FROM herald.apps WHERE name = 'shop'");
  auto old_shipped = send("u1", "order_shipped");
  auto old_promo = send("u1", "promo");
  // Web off for every type, but promos on for every channel: a type's own
  // preference comes before '*', and each holds from when it was set.
  auto u1 = std::to_string(user_id("u1"));
  exec("INSERT INTO herald.preferences (user_id, message_type, channel,"
       " enabled) VALUES (" +
       u1 + ", '*', 'web', false), (" + u1 + ", 'promo', '*', true)");
  auto new_promo = send("u1", "promo");
  send("u1", "order_shipped");
  auto r = read("u1", 0, 10);
  CAF_CHECK_EQUAL(seqs(r),
                  std::vector<int64_t>({old_shipped, old_promo, new_promo}));
  CAF_CHECK_EQUAL(r.complete_through, head());
  // The same verdicts as herald.web_preference's, message by message.
  CAF_CHECK_EQUAL(
    query_value("SELECT string_agg(coalesce(p.enabled::text, 'none'), ','"
                " ORDER BY o.position) FROM herald.outbox o"
                " LEFT JOIN LATERAL herald.web_preference(" +
                u1 + ", o.message_type, o.position) p ON true"),
    "none,none,true,false");
}

CAF_TEST(a read stops at its byte budget and always takes one message) {
  std::vector<int64_t> sent;
  for (int i = 0; i < 4; ++i)
    sent.push_back(send("u2", "order_shipped", 10000));
  // Each message carries a little over 10,000 bytes: three start under
  // 25,000 bytes, the fourth does not.
  auto r = read("u2", 0, 256, 25000);
  CAF_CHECK_EQUAL(seqs(r),
                  std::vector<int64_t>(sent.begin(), sent.begin() + 3));
  CAF_CHECK_EQUAL(r.complete_through, sent[2]);
  auto one = read("u2", 0, 256, 1);
  CAF_CHECK_EQUAL(seqs(one), std::vector<int64_t>({sent[0]}));
  CAF_CHECK_EQUAL(one.complete_through, sent[0]);
  auto all = read("u2", sent[2], 256, 25000);
  CAF_CHECK_EQUAL(seqs(all), std::vector<int64_t>({sent[3]}));
  CAF_CHECK_EQUAL(all.complete_through, head());
}

CAF_TEST(a range with nothing for the user is complete to its end) {
  send("u1", "order_shipped");
  auto r = read("u3", 0, 256);
  CAF_CHECK(r.deliveries.empty());
  CAF_CHECK_EQUAL(r.complete_through, head());
}

CAF_TEST(a full read of one stream is complete to its last message) {
  std::vector<int64_t> sent;
  for (int i = 0; i < 3; ++i)
    sent.push_back(send("u3", "order_shipped"));
  auto r = read("u3", 0, 2);
  CAF_CHECK_EQUAL(seqs(r), std::vector<int64_t>({sent[0], sent[1]}));
  CAF_CHECK_EQUAL(r.complete_through, sent[1]);
}

CAF_TEST(history pages go on past messages the user opted out of) {
  opt_out_of_promos("u1");
  auto first = send("u1", "order_shipped");
  auto second = send("u1", "order_shipped");
  for (int i = 0; i < 3; ++i)
    send("u1", "promo");
  // The newest three entries are all left out: an empty page, which is
  // not the end of the history.
  auto page = history(R"({"user": "u1", "limit": 3})");
  CAF_CHECK(page.at("messages").empty());
  CAF_REQUIRE(page.at("next_before").is_number());
  auto older = history(R"({"user": "u1", "limit": 3, "before": )" +
                       page.at("next_before").dump() + "}");
  CAF_REQUIRE_EQUAL(older.at("messages").size(), 2u);
  CAF_CHECK_EQUAL(older.at("messages").at(0).at("seq"), second);
  CAF_CHECK_EQUAL(older.at("messages").at(1).at("seq"), first);
  CAF_CHECK(older.at("next_before").is_null());
}

CAF_TEST_FIXTURE_SCOPE_END()
