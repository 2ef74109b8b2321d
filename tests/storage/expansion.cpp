#define CAF_SUITE storage.expansion

#include "storage/expansion.hpp"

#include "fixtures/engine_render.hpp"
#include "fixtures/herald_database.hpp"
#include "storage/channel_expansion.hpp"
#include "storage/log_reader.hpp"

#include <caf/test/unit_test.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

using namespace herald;

namespace {

struct fixture : test::herald_database {
  storage::outbox_expander expander{url()};
  storage::channel_expansion channels{url()};

  // Into the log, then the sms and mobile rows, as the engine does.
  storage::batch_result expand(size_t limit = 500) {
    auto result = expander.expand_batch(limit, test::render_as_engine);
    while (channels.expand_batch(50) > 0) {
    }
    return result;
  }

  std::string outbox(int64_t id, const std::string& column) {
    return query_value("SELECT " + column +
                       " FROM herald.outbox WHERE id = " + std::to_string(id));
  }

  std::string recipients(int64_t id) {
    return outbox(id, "(herald.api_message_json(outbox))->>'recipients'");
  }

  int64_t position(int64_t id) { return std::stoll(outbox(id, "position")); }

  // "user:channel:seq:state" of a message's deliveries, sorted; a web seq
  // (the message's position) shows as "+".
  std::string deliveries_of(int64_t id) {
    return query_value(
      "SELECT string_agg(u.external_id || ':' || d.channel || ':'"
      " || CASE WHEN d.seq IS NULL THEN '-' WHEN d.channel = 'web' THEN '+'"
      " ELSE d.seq::text END || ':' || d.state, ' '"
      " ORDER BY u.external_id, d.channel)"
      " FROM (SELECT message_id, user_id, channel, seq, state"
      " FROM herald.web_deliveries UNION ALL SELECT message_id, user_id,"
      " channel, seq, state FROM herald.deliveries) d"
      " JOIN herald.users u ON u.id = d.user_id WHERE d.message_id = " +
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
  CAF_CHECK(result.first_position > 0);
  CAF_CHECK_EQUAL(result.first_position, result.last_position);
  CAF_CHECK_EQUAL(position(id), result.first_position);
  CAF_CHECK_EQUAL(outbox(id, "state"), "processed");
  CAF_CHECK_EQUAL(recipients(id), "1");
  CAF_CHECK_EQUAL(outbox(id, "rendered->'web'->>'body'"),
                  "Your order <b>A</b> has shipped");
  CAF_CHECK_EQUAL(outbox(id, "rendered->'sms'->>'body'"), "Order A shipped");
  CAF_CHECK_EQUAL(deliveries_of(id), "u1:sms:-:pending u1:web:+:pending");
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
  CAF_CHECK_EQUAL(deliveries_of(b), "u1:sms:-:pending u1:web:+:pending");
  CAF_CHECK_EQUAL(deliveries_of(a), "u1:sms:-:pending u1:web:+:pending");
}

CAF_TEST(a transaction begun before a batch has its late messages expanded) {
  // The expander's claim floor moves past what it expanded, but never past
  // a transaction still running: A has its transaction id before B is
  // published and expanded, and publishes only afterwards.
  pqxx::connection conn_a{url()};
  pqxx::work tx_a{conn_a};
  tx_a.exec("SELECT pg_current_xact_id()");
  auto b = publish("'shop', 'order_shipped', 'user:u1', "
                   "'{\"order\":\"B\"}'");
  CAF_CHECK_EQUAL(expand().claimed, 1u);
  CAF_CHECK_EQUAL(expand().claimed, 0u);
  auto a = tx_a
             .exec("SELECT herald.publish('shop', 'order_shipped',"
                   " 'user:u1', '{\"order\":\"A\"}')")[0][0]
             .as<int64_t>();
  tx_a.commit();
  CAF_CHECK_LESS(b, a);
  CAF_CHECK_EQUAL(expand().claimed, 1u);
  CAF_CHECK_LESS(position(b), position(a));
  CAF_CHECK_EQUAL(expand().claimed, 0u);
}

CAF_TEST(a full batch has the next one read while it is expanded) {
  // A has its transaction id before B's messages are published, so its
  // message, committed while the batches go on, sorts before the ones
  // already read ahead. Those go first; A's is not skipped: a read ahead
  // leaves the claim floor where it was.
  pqxx::connection conn_a{url()};
  pqxx::work tx_a{conn_a};
  tx_a.exec("SELECT pg_current_xact_id()");
  auto b1 = publish("'shop', 'order_shipped', 'user:u1', "
                    "'{\"order\":\"B1\"}'");
  auto b2 = publish("'shop', 'order_shipped', 'user:u1', "
                    "'{\"order\":\"B2\"}'");
  auto b3 = publish("'shop', 'order_shipped', 'user:u1', "
                    "'{\"order\":\"B3\"}'");
  CAF_CHECK_EQUAL(expand(1).claimed, 1u); // B1, and B2 read ahead
  auto a = tx_a
             .exec("SELECT herald.publish('shop', 'order_shipped',"
                   " 'user:u1', '{\"order\":\"A\"}')")[0][0]
             .as<int64_t>();
  tx_a.commit();
  CAF_CHECK_EQUAL(expand(1).claimed, 1u); // B2, and B3 read ahead
  CAF_CHECK_EQUAL(expand(1).claimed, 1u); // B3; nothing after it
  CAF_CHECK_EQUAL(expand(1).claimed, 1u); // A, read from the floor
  CAF_CHECK_EQUAL(expand(1).read, 0u);
  CAF_CHECK_LESS(position(b1), position(b2));
  CAF_CHECK_LESS(position(b2), position(b3));
  CAF_CHECK_LESS(position(b3), position(a));
  CAF_CHECK_EQUAL(deliveries_of(a), "u1:sms:-:pending u1:web:+:pending");
}

CAF_TEST(a read ahead that fails is read again in turn) {
  auto b1 = publish("'shop', 'order_shipped', 'user:u1', "
                    "'{\"order\":\"B1\"}'");
  auto b2 = publish("'shop', 'order_shipped', 'user:u1', "
                    "'{\"order\":\"B2\"}'");
  // The second render is the read ahead's (B2), on its own thread.
  size_t renders = 0;
  auto flaky = [&](const storage::claimed_message& m) {
    if (++renders == 2)
      throw std::runtime_error("render failed");
    return test::render_as_engine(m);
  };
  CAF_CHECK_EQUAL(expander.expand_batch(1, flaky).claimed, 1u);
  CAF_CHECK_EQUAL(outbox(b2, "state"), "pending");
  auto second = expander.expand_batch(1, flaky);
  CAF_CHECK_EQUAL(second.claimed, 1u);
  CAF_CHECK_EQUAL(renders, 3u);
  CAF_CHECK_LESS(position(b1), position(b2));
  CAF_CHECK_EQUAL(expander.expand_batch(1, flaky).read, 0u);
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

CAF_TEST(rows another engine takes while a batch renders are expanded once) {
  // Rendering holds no lock (schema/0019): while this batch renders the
  // rows it read, a second engine reads, renders and expands the same
  // rows. This batch then takes none of them.
  auto a = publish("'shop', 'order_shipped', 'user:u1', '{\"order\":\"A\"}'");
  auto b = publish("'shop', 'order_shipped', 'user:u2', '{\"order\":\"B\"}'");
  storage::outbox_expander other{url()};
  storage::batch_result theirs;
  size_t renders = 0;
  auto result =
    expander.expand_batch(10, [&](const storage::claimed_message& m) {
      if (renders++ == 0)
        theirs = other.expand_batch(10, test::render_as_engine);
      return test::render_as_engine(m);
    });
  CAF_CHECK_EQUAL(theirs.claimed, 2u);
  CAF_CHECK_EQUAL(result.read, 2u);
  CAF_CHECK_EQUAL(result.claimed, 0u);
  CAF_CHECK_EQUAL(result.first_position, 0);
  CAF_CHECK_EQUAL(position(a) + 1, position(b));
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.stream_log"
                              " WHERE message_id IS NOT NULL"),
                  "2");
  CAF_CHECK_EQUAL(expand().read, 0u);
}

CAF_TEST(a batch takes the rows no other engine holds and skips the rest) {
  // A row another transaction holds locked is skipped, not waited for;
  // the rest of the batch goes on, and the held row is taken later.
  auto a = publish("'shop', 'order_shipped', 'user:u1', '{\"order\":\"A\"}'");
  auto b = publish("'shop', 'order_shipped', 'user:u2', '{\"order\":\"B\"}'");
  pqxx::connection conn{url()};
  auto holder = std::make_unique<pqxx::work>(conn);
  holder->exec("SELECT 1 FROM herald.outbox WHERE id = " + std::to_string(a) +
               " FOR UPDATE");
  auto first = expand();
  CAF_CHECK_EQUAL(first.read, 2u);
  CAF_CHECK_EQUAL(first.claimed, 1u);
  CAF_CHECK_EQUAL(outbox(a, "state"), "pending");
  CAF_CHECK_EQUAL(outbox(b, "state"), "processed");
  holder->abort();
  holder.reset();
  CAF_CHECK_EQUAL(expand().claimed, 1u);
  CAF_CHECK_EQUAL(outbox(a, "state"), "processed");
  CAF_CHECK_LESS(position(b), position(a));
}

CAF_TEST(a merchant target reaches its users and its stores users once) {
  auto id = publish("'shop', 'order_shipped', 'merchant:m1', " + order_a +
                    ", ARRAY['web']");
  expand();
  // boss belongs to m1; u1 is in s1 and s2, u2 in s2; u3 is m2's.
  CAF_CHECK_EQUAL(deliveries_of(id),
                  "boss:web:+:pending u1:web:+:pending u2:web:+:pending");
  CAF_CHECK_EQUAL(recipients(id), "3");
  // One log entry: the merchant's stream.
  CAF_CHECK_EQUAL(query_value("SELECT string_agg(stream, ',') FROM"
                              " herald.stream_log WHERE message_id = " +
                              std::to_string(id)),
                  "merchant:1");
}

CAF_TEST(overlapping targets deliver once per user and channel) {
  auto id = publish("'shop', 'order_shipped', ARRAY['store:s1', 'store:s2',"
                    " 'topic:news', 'user:u1'], " +
                    order_a + ", ARRAY['web']");
  expand();
  CAF_CHECK_EQUAL(deliveries_of(id),
                  "u1:web:+:pending u2:web:+:pending u3:web:+:pending");
}

CAF_TEST(opted out deliveries are kept as suppressed with the reason) {
  exec("INSERT INTO herald.preferences (user_id, message_type, channel,"
       " enabled) VALUES (" +
       std::to_string(user_id("u1")) + ", 'order_shipped', 'sms', false)");
  auto id = publish("'shop', 'order_shipped', 'user:u1', " + order_a);
  expand();
  CAF_CHECK_EQUAL(deliveries_of(id), "u1:sms:-:suppressed u1:web:+:pending");
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
  CAF_CHECK_EQUAL(deliveries_of(id), "u1:web:+:pending u2:web:-:suppressed");
  // Left out of u2's feed: no seq.
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
  CAF_CHECK_EQUAL(deliveries_of(ids[0]), "u1:web:+:pending");
  CAF_CHECK_EQUAL(deliveries_of(ids[1]), "u1:web:+:pending");
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
  CAF_CHECK_EQUAL(deliveries_of(normal), "u1:sms:-:pending u1:web:+:pending");
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

CAF_TEST(a batch answers with its log entries as a read of the log gives them) {
  auto to_user = publish("'shop', 'order_shipped', 'user:u1', " + order_a);
  auto to_many = publish("'shop', 'order_shipped', ARRAY['store:s1',"
                         " 'topic:news', 'user:u2'], " +
                         order_a + ", ARRAY['web']");
  auto sms_only = publish("'shop', 'order_shipped', 'user:u1', " + order_a +
                          ", ARRAY['sms']");
  publish("'shop', 'order_shipped', 'user:ghost', " + order_a);
  auto escaped = publish("'shop', 'order_shipped', 'user:u3',"
                         " '{\"order\":\"\u00c4 \\\"<b>\\\" \u2603\"}',"
                         " ARRAY['web'], NULL, 'high'");
  auto result = expand();
  CAF_CHECK_EQUAL(result.claimed, 5u);
  CAF_CHECK_EQUAL(result.rejected, 1u);
  CAF_CHECK(result.logged_in_full);
  // Four positions, one without web text and so without an entry.
  CAF_CHECK_EQUAL(result.logged.after, result.first_position - 1);
  CAF_CHECK_EQUAL(result.logged.through, result.last_position);
  CAF_CHECK_EQUAL(result.last_position - result.first_position, 3);
  CAF_CHECK_EQUAL(position(sms_only), result.first_position + 2);
  storage::log_reader reader{url()};
  auto read = reader.read_after(result.first_position - 1, 100);
  CAF_CHECK_EQUAL(read.through, result.last_position);
  auto& mine = result.logged.entries;
  CAF_REQUIRE_EQUAL(mine.size(), 3u);
  CAF_REQUIRE_EQUAL(read.entries.size(), mine.size());
  std::vector<int64_t> ids{to_user, to_many, escaped};
  for (size_t i = 0; i < mine.size(); ++i) {
    const auto& a = mine[i];
    const auto& b = read.entries[i];
    CAF_CHECK_EQUAL(a.position, b.position);
    CAF_CHECK_EQUAL(a.streams, b.streams);
    CAF_REQUIRE(a.message && b.message);
    CAF_CHECK_EQUAL(a.message->web->id, ids[i]);
    CAF_CHECK_EQUAL(a.message->web->id, b.message->web->id);
    CAF_CHECK_EQUAL(a.message->web->created_unix, b.message->web->created_unix);
    CAF_CHECK_EQUAL(a.message->web->members_before_seq,
                    b.message->web->members_before_seq);
    CAF_CHECK_EQUAL(a.message->web->members_after_seq,
                    b.message->web->members_after_seq);
    CAF_CHECK_EQUAL(a.message->message_type, b.message->message_type);
    CAF_CHECK_EQUAL(a.message->priority, b.message->priority);
  }
  CAF_CHECK_EQUAL(mine[1].streams.size(), 3u);
  CAF_CHECK_EQUAL(mine[2].message->priority, "high");
}

CAF_TEST(
  a batch too large to answer with its entries answers with its positions) {
  // Three messages of 400 kB: more than answer_bytes together.
  for (int i = 0; i < 3; ++i)
    publish("'shop', 'order_shipped', 'user:u1', jsonb_build_object("
            "'order', 'A', 'pad', repeat('x', 400000)), ARRAY['web']");
  auto result = expand();
  CAF_CHECK_EQUAL(result.claimed, 3u);
  CAF_CHECK_EQUAL(result.last_position - result.first_position, 2);
  CAF_CHECK(!result.logged_in_full);
  CAF_CHECK(result.logged.entries.empty());
  // The log has them, for the read.
  storage::log_reader reader{url()};
  auto read = reader.read_after(result.first_position - 1, 100);
  CAF_CHECK_EQUAL(read.entries.size(), 3u);
  CAF_CHECK_EQUAL(read.through, result.last_position);
}

CAF_TEST(two expanders at once take positions in commit order) {
  constexpr int messages = 600;
  exec("INSERT INTO herald.outbox (app_id, template_code, targets, vars,"
       " channels) SELECT 1, 'order_shipped', ARRAY['merchant:m1',"
       " 'topic:news'], jsonb_build_object('order', g), ARRAY['web']"
       " FROM generate_series(1, " +
       std::to_string(messages) + ") g");
  std::atomic<size_t> claimed{0};
  std::atomic<bool> done{false};
  auto work = [&] {
    storage::outbox_expander mine{url()};
    for (;;) {
      auto r = mine.expand_batch(25, test::render_as_engine);
      if (r.read == 0)
        return;
      claimed += r.claimed;
    }
  };
  // A reader that has seen the head at P must never later find more below
  // P: it records what each snapshot showed, checked against the end.
  std::vector<std::pair<int64_t, int64_t>> seen;
  auto read = [&] {
    pqxx::connection conn{url()};
    while (!done) {
      pqxx::work tx{conn};
      auto row =
        tx.exec1("SELECT h.position, (SELECT count(DISTINCT position) FROM"
                 " herald.stream_log l WHERE l.position <= h.position"
                 " AND l.message_id IS NOT NULL) FROM herald.log_head h");
      seen.emplace_back(row[0].as<int64_t>(), row[1].as<int64_t>());
    }
  };
  std::thread reader{read};
  std::thread one{work};
  std::thread two{work};
  one.join();
  two.join();
  done = true;
  reader.join();
  CAF_CHECK_EQUAL(claimed.load(), static_cast<size_t>(messages));
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.outbox"
                              " WHERE state <> 'processed'"),
                  "0");
  // One position per message; two log entries each (merchant, topic).
  CAF_CHECK_EQUAL(query_value("SELECT count(DISTINCT position) FROM"
                              " herald.outbox"),
                  std::to_string(messages));
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.stream_log"
                              " WHERE message_id IS NOT NULL"),
                  std::to_string(2 * messages));
  CAF_CHECK(seen.size() > 1);
  // Every snapshot's head, checked against the end (a sample of them:
  // each check is a query).
  auto step = std::max<size_t>(1, seen.size() / 40);
  for (size_t i = 0; i < seen.size(); i += step) {
    auto [head, below] = seen[i];
    CAF_CHECK_EQUAL(query_value("SELECT count(DISTINCT position) FROM"
                                " herald.stream_log WHERE message_id IS NOT"
                                " NULL AND position <= " +
                                std::to_string(head)),
                    std::to_string(below));
  }
  // merchant:m1 + topic:news = boss, u1, u2, u3: each message once each.
  CAF_CHECK_EQUAL(count_deliveries(), 4 * messages);
  CAF_CHECK_EQUAL(
    query_value("SELECT count(*) FROM (SELECT user_id FROM"
                " herald.web_deliveries GROUP BY user_id HAVING"
                " count(DISTINCT seq) = count(*) AND count(*) = " +
                std::to_string(messages) + ") ok"),
    "4");
}

CAF_TEST(a message to a merchant of many users is one log entry) {
  constexpr int members = 100000;
  exec("INSERT INTO herald.users (app_id, external_id, merchant_id)"
       " SELECT 1, 'm-' || g, 1 FROM generate_series(1, " +
       std::to_string(members) + ") g");
  auto id = publish("'shop', 'order_shipped', 'merchant:m1', " + order_a +
                    ", ARRAY['web']");
  auto result = expand();
  CAF_CHECK_EQUAL(result.claimed, 1u);
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.stream_log"
                              " WHERE message_id = " +
                              std::to_string(id)),
                  "1");
  CAF_CHECK_EQUAL(query_value("SELECT count(*) FROM herald.deliveries"), "0");
  // boss, u1 and u2 besides: the audience is read from the memberships.
  CAF_CHECK_EQUAL(recipients(id), std::to_string(members + 3));
}

CAF_TEST(a membership counts from the position at which it began) {
  auto before = publish("'shop', 'order_shipped', 'topic:news', " + order_a +
                        ", ARRAY['web']");
  expand();
  exec("INSERT INTO herald.subscriptions (topic_id, user_id) VALUES (1, " +
       std::to_string(user_id("u2")) + ")");
  auto after = publish("'shop', 'order_shipped', 'topic:news', " + order_a +
                       ", ARRAY['web']");
  expand();
  CAF_CHECK_EQUAL(deliveries_of(before), "u1:web:+:pending u3:web:+:pending");
  CAF_CHECK_EQUAL(deliveries_of(after),
                  "u1:web:+:pending u2:web:+:pending u3:web:+:pending");
  // Leaving stops what follows.
  auto controls = [&] {
    return query_value("SELECT count(*) FROM herald.stream_log WHERE"
                       " message_id IS NULL AND stream = 'user:" +
                       std::to_string(user_id("u3")) + "'");
  };
  auto before_leaving = controls();
  exec("DELETE FROM herald.subscriptions WHERE user_id = " +
       std::to_string(user_id("u3")));
  auto later = publish("'shop', 'order_shipped', 'topic:news', " + order_a +
                       ", ARRAY['web']");
  expand();
  CAF_CHECK_EQUAL(deliveries_of(later), "u1:web:+:pending u2:web:+:pending");
  // Each change is a control entry on the user's stream.
  CAF_CHECK_EQUAL(std::stoi(controls()), std::stoi(before_leaving) + 1);
}

CAF_TEST(an app target reaches every user of the app) {
  auto id =
    publish("'shop', 'order_shipped', 'app', " + order_a + ", ARRAY['web']");
  expand();
  CAF_CHECK_EQUAL(deliveries_of(id), "boss:web:+:pending u1:web:+:pending "
                                     "u2:web:+:pending u3:web:+:pending");
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
                " FROM herald.web_deliveries d JOIN herald.users u"
                " ON u.id = d.user_id JOIN herald.outbox o"
                " ON o.id = d.message_id WHERE o.vars->>'number' = 'A-1'"),
    "boss,u1,u2");
  CAF_CHECK_EQUAL(
    query_value("SELECT string_agg(DISTINCT u.external_id, ',')"
                " FROM herald.web_deliveries d JOIN herald.users u"
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
