#define CAF_SUITE storage.import

#include "fixtures/herald_database.hpp"

#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

using namespace herald;
using nlohmann::json;

namespace {

struct fixture : test::herald_database {
  // herald.import_principals('shop', lines) and its answer.
  json import(const json& lines) {
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    auto row = tx.exec_params1(
      "SELECT herald.import_principals('shop', $1::jsonb)::text", lines.dump());
    tx.commit();
    return json::parse(row[0].as<std::string>());
  }

  // The SQLSTATE of what `sql` raises ("" when it does not).
  std::string error_of(const std::string& sql) {
    pqxx::connection conn{url()};
    pqxx::nontransaction tx{conn};
    try {
      tx.exec(sql);
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate();
    }
    return "";
  }

  // The position user `external` reads `stream` from ("" when not at all).
  std::string since(const std::string& external, const std::string& stream) {
    return query_value("SELECT since FROM herald.feed_streams(" +
                       std::to_string(user_id(external)) +
                       ") WHERE stream = " + stream);
  }

  int64_t log_position() {
    return std::stoll(query_value("SELECT herald.log_position()"));
  }

  // Every principal row, so that a no-op import can be told from one that
  // rewrote rows with the same values (ctid moves on update).
  std::string snapshot() {
    return query_value(R"sql(
      SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
        SELECT 'm' || ctid || x::text AS t FROM herald.merchants x
        UNION ALL SELECT 's' || ctid || x::text FROM herald.stores x
        UNION ALL SELECT 'u' || ctid || x::text FROM herald.users x
        UNION ALL SELECT 't' || ctid || x::text FROM herald.topics x
        UNION ALL SELECT 'sm' || ctid || x::text FROM herald.store_members x
        UNION ALL SELECT 'sb' || ctid || x::text FROM herald.subscriptions x
        UNION ALL SELECT 'l' || x::text FROM herald.stream_log x
        UNION ALL SELECT 'h' || x::text FROM herald.log_head x) s)sql");
  }
};

const json world = json::parse(R"([
  {"kind": "user", "id": "ada", "merchant": "acme",
   "time_zone": "Europe/Paris", "phone": "+33 1"},
  {"kind": "member", "store": "acme-paris", "user": "ada"},
  {"kind": "subscription", "topic": "deals", "user": "ada"},
  {"kind": "merchant", "id": "acme", "name": "Acme"},
  {"kind": "store", "id": "acme-paris", "merchant": "acme"},
  {"kind": "topic", "id": "deals"},
  {"kind": "member", "store": "s1", "user": "u2"}
])");

} // namespace

CAF_TEST_FIXTURE_SCOPE(import_tests, fixture)

CAF_TEST(lines land in dependency order whatever their order) {
  auto result = import(world);
  CAF_CHECK_EQUAL(result["lines"], 7);
  CAF_CHECK_EQUAL(result["error_count"], 0);
  CAF_CHECK_EQUAL(result["errors"], json::array());
  CAF_CHECK_EQUAL(result["imported"],
                  json::parse(R"({"merchant": 1, "store": 1, "topic": 1,
                                  "user": 1, "member": 2,
                                  "subscription": 1})"));
  CAF_CHECK_EQUAL(
    query_value("SELECT m.external_id || ' ' || u.time_zone || ' ' || u.phone"
                " FROM herald.users u JOIN herald.merchants m"
                " ON m.id = u.merchant_id WHERE u.external_id = 'ada'"),
    "acme Europe/Paris +33 1");
  CAF_CHECK_EQUAL(query_value("SELECT name FROM herald.merchants"
                              " WHERE external_id = 'acme'"),
                  "Acme");
  auto ada = std::to_string(user_id("ada"));
  CAF_CHECK_EQUAL(query_value("SELECT string_agg(s.external_id, ',' ORDER BY"
                              " s.external_id) FROM herald.store_members m"
                              " JOIN herald.stores s ON s.id = m.store_id"
                              " WHERE m.user_id = " +
                              ada),
                  "acme-paris");
  CAF_CHECK_EQUAL(query_value("SELECT t.name FROM herald.subscriptions b"
                              " JOIN herald.topics t ON t.id = b.topic_id"
                              " WHERE b.user_id = " +
                              ada),
                  "deals");
  // Existing principals take new memberships: u2 was in s2 only.
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.store_members"
                              " WHERE user_id = " +
                              std::to_string(user_id("u2"))),
                  "2");
}

CAF_TEST(bad lines are reported by number and the rest lands) {
  auto lines = json::parse(R"([
    {"kind": "merchant", "id": "acme"},
    5,
    {"kind": "wizard", "id": "x"},
    {"kind": "user", "id": "bob", "extra": true},
    {"kind": "user"},
    {"kind": "user", "id": 7},
    {"kind": "user", "id": ""},
    {"kind": "user", "id": "eve", "time_zone": "Mars/Olympus"},
    {"kind": "user", "id": "mallory", "merchant": "nope"},
    {"kind": "store", "id": "s9", "merchant": "nope"},
    {"kind": "member", "store": "nope", "user": "u1"},
    {"kind": "member", "store": "s1", "user": "nobody"},
    {"kind": "member", "store": "s1", "user": "eve"},
    {"kind": "subscription", "topic": "nope", "user": "u1"},
    {"kind": "subscription", "topic": "news", "user": "u2", "remove": "yes"},
    null,
    {"kind": "user", "id": "carol", "merchant": "acme"}
  ])");
  auto result = import(lines);
  CAF_CHECK_EQUAL(result["lines"], 16); // the null (blank) line is skipped
  CAF_CHECK_EQUAL(result["error_count"], 14);
  CAF_CHECK_EQUAL(result["imported"]["merchant"], 1);
  CAF_CHECK_EQUAL(result["imported"]["user"], 1);
  std::vector<std::string> got;
  for (const auto& e : result["errors"])
    got.push_back(std::to_string(e["line"].get<int>()) + " " +
                  e["code"].get<std::string>() + " " +
                  e["message"].get<std::string>());
  std::vector<std::string> want{
    "2 bad_json not a JSON object",
    "3 bad_field kind: must be one of merchant, store, user, topic, member, "
    "subscription",
    "4 bad_field extra: unknown field",
    "5 bad_field id: required",
    "6 bad_field id: must be a string",
    "7 bad_field id: must not be empty",
    "8 bad_field time_zone: \"Mars/Olympus\" is not a time zone name such "
    "as Europe/Berlin",
    "9 unknown_merchant merchant: no merchant \"nope\"",
    "10 unknown_merchant merchant: no merchant \"nope\"",
    "11 unknown_store no store \"nope\"",
    "12 unknown_user no user \"nobody\"",
    "13 unknown_user no user \"eve\"", // its user line was refused
    "14 unknown_topic no topic \"nope\"",
    "15 bad_field remove: must be true or false",
  };
  CAF_CHECK_EQUAL(got, want);
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.users WHERE"
                              " external_id IN ('bob', 'eve', 'mallory')"),
                  "0");
  CAF_CHECK_EQUAL(query_value("SELECT m.external_id FROM herald.users u"
                              " JOIN herald.merchants m ON m.id ="
                              " u.merchant_id WHERE u.external_id = 'carol'"),
                  "acme");
}

CAF_TEST(the error list stops at 100 and the count goes on) {
  json lines = json::array();
  for (int i = 0; i < 150; ++i)
    lines.push_back({{"kind", "member"}, {"store", "s1"}, {"user", "ghost"}});
  lines.push_back({{"kind", "topic"}, {"id", "fine"}});
  auto result = import(lines);
  CAF_CHECK_EQUAL(result["error_count"], 150);
  CAF_CHECK_EQUAL(result["errors"].size(), 100u);
  CAF_CHECK_EQUAL(result["errors"].back()["line"], 100);
  CAF_CHECK_EQUAL(result["imported"]["topic"], 1);
}

CAF_TEST(imported memberships begin at the position of the import) {
  // Messages to s1 and to topic news took positions before the import.
  exec("SELECT herald.take_positions(5)");
  auto before = log_position();
  auto u1_s1 = since("u1", "'store:1'"); // u1 was in s1 before: unchanged
  import(json::parse(R"([
    {"kind": "user", "id": "ada"},
    {"kind": "member", "store": "s1", "user": "ada"},
    {"kind": "member", "store": "s1", "user": "u2"},
    {"kind": "subscription", "topic": "news", "user": "ada"}
  ])"));
  CAF_CHECK_EQUAL(since("u1", "'store:1'"), u1_s1);
  for (const auto& [user, stream] :
       std::vector<std::pair<std::string, std::string>>{
         {"ada", "'store:1'"},
         {"ada", "'merchant:1'"},
         {"ada", "'topic:1'"},
         {"ada", "'user:' || " + std::to_string(user_id("ada"))},
         {"u2", "'store:1'"}}) {
    auto from = since(user, stream);
    CAF_REQUIRE(!from.empty());
    CAF_CHECK_GREATER_OR_EQUAL(std::stoll(from), before);
  }
  // Engines holding ada or u2 are told to reload them.
  CAF_CHECK_EQUAL(query_value("SELECT string_agg(DISTINCT stream, ',')"
                              " FROM herald.stream_log WHERE message_id IS"
                              " NULL AND position > " +
                              std::to_string(before)),
                  "user:" + std::to_string(user_id("u2")) +
                    ",user:" + std::to_string(user_id("ada")));
}

CAF_TEST(importing the same lines again changes nothing) {
  import(world);
  auto after_first = snapshot();
  auto again = import(world);
  CAF_CHECK_EQUAL(again["error_count"], 0);
  CAF_CHECK_EQUAL(again["imported"]["user"], 1);
  CAF_CHECK_EQUAL(snapshot(), after_first);
}

CAF_TEST(fields left out keep their value and lines for one id apply in order) {
  import(world);
  import(json::parse(R"([
    {"kind": "user", "id": "ada", "locale": "fr"},
    {"kind": "user", "id": "ada", "time_zone": "Europe/Berlin"},
    {"kind": "user", "id": "ada", "locale": "de"},
    {"kind": "merchant", "id": "acme"},
    {"kind": "store", "id": "acme-paris", "merchant": "m2"}
  ])"));
  CAF_CHECK_EQUAL(
    query_value("SELECT concat_ws(' ', m.external_id, u.time_zone, u.phone,"
                " u.locale) FROM herald.users u JOIN herald.merchants m"
                " ON m.id = u.merchant_id WHERE u.external_id = 'ada'"),
    "acme Europe/Berlin +33 1 de");
  CAF_CHECK_EQUAL(query_value("SELECT name FROM herald.merchants"
                              " WHERE external_id = 'acme'"),
                  "Acme");
  CAF_CHECK_EQUAL(query_value("SELECT m.external_id FROM herald.stores s"
                              " JOIN herald.merchants m ON m.id ="
                              " s.merchant_id WHERE s.external_id ="
                              " 'acme-paris'"),
                  "m2");
}

CAF_TEST(remove lines end memberships and subscriptions) {
  auto u1 = std::to_string(user_id("u1"));
  auto result = import(json::parse(R"([
    {"kind": "member", "store": "s1", "user": "u1", "remove": true},
    {"kind": "member", "store": "s2", "user": "u1", "remove": true},
    {"kind": "member", "store": "s2", "user": "u1"},
    {"kind": "subscription", "topic": "news", "user": "u1", "remove": true},
    {"kind": "subscription", "topic": "news", "user": "u2", "remove": true}
  ])"));
  CAF_CHECK_EQUAL(result["error_count"], 0);
  CAF_CHECK_EQUAL(result["imported"]["member"], 3);
  // The last line for a pair decides: u1 stays in s2, leaves s1.
  CAF_CHECK_EQUAL(query_value("SELECT string_agg(store_id::text, ',') FROM"
                              " herald.store_members WHERE user_id = " +
                              u1),
                  "2");
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.subscriptions"
                              " WHERE user_id = " +
                              u1),
                  "0");
}

CAF_TEST(malformed calls raise with a hint) {
  CAF_CHECK_EQUAL(error_of("SELECT herald.import_principals('nope', '[]')"),
                  "42704");
  CAF_CHECK_EQUAL(error_of("SELECT herald.import_principals('shop', '{}')"),
                  "22023");
  exec("UPDATE herald.apps SET disabled = true");
  CAF_CHECK_EQUAL(error_of("SELECT herald.import_principals('shop', '[]')"),
                  "55000");
}

CAF_TEST_FIXTURE_SCOPE_END()
