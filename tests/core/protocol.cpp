#define CAF_SUITE core.protocol

#include "core/protocol.hpp"

#include "core/utf8.hpp"

#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

using namespace herald;
using namespace herald::protocol;

namespace {

struct fixture {
  /// "ok" or the error's code.
  static std::string code_of(std::string_view text) {
    auto r = parse_client_frame(text);
    if (auto err = std::get_if<frame_error>(&r))
      return err->code;
    return "ok";
  }

  static client_frame parse_ok(std::string_view text) {
    auto r = parse_client_frame(text);
    auto* frame = std::get_if<client_frame>(&r);
    if (frame == nullptr)
      CAF_FAIL("parse failed for " << std::string{text} << ": "
                                   << std::get_if<frame_error>(&r)->message);
    return *frame;
  }

  static frame_error parse_error(std::string_view text) {
    auto r = parse_client_frame(text);
    auto* err = std::get_if<frame_error>(&r);
    if (err == nullptr)
      CAF_FAIL("parse succeeded for " << std::string{text});
    return *err;
  }

  template <class T>
  static T parse_as(std::string_view text) {
    auto frame = parse_ok(text);
    auto* result = std::get_if<T>(&frame);
    if (result == nullptr)
      CAF_FAIL("wrong frame type for " << std::string{text});
    return *result;
  }

  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  static web_message sample_message() {
    web_message m;
    m.id = 17;
    m.template_code = "order_shipped";
    m.title = "Shipped";
    m.body = "Order A-17 is on its way";
    m.data_json = R"({"order":"A-17","items":[1,2]})";
    m.created_at = "2024-05-01T10:00:00Z";
    return m;
  }

  static delivery at(int64_t seq, const web_message& m) {
    return delivery{seq, false, seal(m)};
  }

  static delivery sample() { return at(12, sample_message()); }

  /// to_json(sample()) as nlohmann::json writes it: keys sorted.
  static constexpr const char* sample_json =
    R"({"body":"Order A-17 is on its way","channel":"web",)"
    R"("created_at":"2024-05-01T10:00:00Z","data":{"items":[1,2],)"
    R"("order":"A-17"},"id":17,"seq":12,"template":"order_shipped",)"
    R"("title":"Shipped"})";
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(protocol_tests, fixture)

CAF_TEST(subprotocol name) {
  CAF_CHECK_EQUAL(std::string{subprotocol}, "herald.v1");
}

CAF_TEST(hello frames) {
  auto h = parse_as<hello>(R"({"type":"hello","token":"abc","last_seq":12})");
  CAF_REQUIRE(h.token.has_value());
  CAF_CHECK_EQUAL(*h.token, "abc");
  CAF_CHECK_EQUAL(h.last_seq, 12);
  // Both fields are optional.
  auto bare = parse_as<hello>(R"({"type":"hello"})");
  CAF_CHECK(!bare.token.has_value());
  CAF_CHECK_EQUAL(bare.last_seq, 0);
  auto no_seq = parse_as<hello>(R"({"type":"hello","token":"t"})");
  CAF_CHECK_EQUAL(no_seq.last_seq, 0);
  auto zero = parse_as<hello>(R"({"type":"hello","last_seq":0})");
  CAF_CHECK_EQUAL(zero.last_seq, 0);
  auto big =
    parse_as<hello>(R"({"type":"hello","last_seq":9223372036854775807})");
  CAF_CHECK_EQUAL(big.last_seq, std::numeric_limits<int64_t>::max());
}

CAF_TEST(hello flags are optional booleans) {
  auto plain = parse_as<hello>(R"({"type":"hello"})");
  CAF_CHECK(!plain.heartbeat);
  CAF_CHECK(!plain.batch);
  auto both =
    parse_as<hello>(R"({"type":"hello","heartbeat":true,"batch":true})");
  CAF_CHECK(both.heartbeat);
  CAF_CHECK(both.batch);
  for (const char* text :
       {R"({"type":"hello","batch":1})", R"({"type":"hello","batch":"yes"})",
        R"({"type":"hello","heartbeat":null})"}) {
    auto err = parse_error(text);
    CAF_CHECK_EQUAL(err.code, "bad_field");
    CAF_CHECK(contains(err.message, "must be true or false"));
  }
}

CAF_TEST(ack auth and read frames) {
  CAF_CHECK_EQUAL(parse_as<ack>(R"({"type":"ack","seq":12})").seq, 12);
  CAF_CHECK_EQUAL(parse_as<ack>(R"({"type":"ack","seq":1})").seq, 1);
  CAF_CHECK_EQUAL(parse_as<auth>(R"({"type":"auth","token":"fresh"})").token,
                  "fresh");
  CAF_CHECK_EQUAL(
    parse_as<protocol::read>(R"({"type":"read","id":17})").message_id, 17);
}

CAF_TEST(extra fields and whitespace are ignored) {
  auto a = parse_as<ack>(
    " {\n\"seq\": 3, \"type\": \"ack\", \"extra\": {\"x\": [1]}, \"v\": 2}\n");
  CAF_CHECK_EQUAL(a.seq, 3);
  auto h = parse_as<hello>(R"({"type":"hello","last_seq":4,"client":"js"})");
  CAF_CHECK_EQUAL(h.last_seq, 4);
}

CAF_TEST(text that is not json) {
  for (const char* text :
       {"", " ", "{", "not json", R"({"type":"ack",})", R"({'type':'ack'})",
        R"({"type":"ack"} x)", "{\"type\":\"\xff\"}"})
    CAF_CHECK_EQUAL(code_of(text), "bad_json");
}

CAF_TEST(json that is not a frame) {
  for (const char* text :
       {"[]", R"([{"type":"ack","seq":1}])", "42", R"("hello")", "null", "{}",
        R"({"seq":1})", R"({"type":5})", R"({"type":null})",
        R"({"type":"bye"})", R"({"type":"HELLO"})", R"({"type":"msg"})",
        R"({"type":""})"})
    CAF_CHECK_EQUAL(code_of(text), "bad_frame");
  auto unknown = parse_error(R"({"type":"subscribe"})");
  CAF_CHECK(contains(unknown.message, "subscribe"));
  // A client's text is echoed, but not all of it.
  auto long_type =
    parse_error(R"({"type":")" + std::string(1000, 'x') + R"("})");
  CAF_CHECK_EQUAL(long_type.code, "bad_frame");
  CAF_CHECK_LESS(long_type.message.size(), 100u);
}

// Found by fuzzing: the 32-byte cut fell inside a character, and the message
// (sent as the close reason) was no longer UTF-8.
CAF_TEST(an echoed type is cut between characters) {
  std::string type = "x";
  for (int i = 0; i < 30; ++i)
    type += "\xc3\xa9"; // é: two bytes, so byte 32 is inside one
  auto err = parse_error(R"({"type":")" + type + R"("})");
  CAF_CHECK_EQUAL(err.code, "bad_frame");
  CAF_CHECK(utf8::valid(err.message));
  // "x" and 15 of them fill 31 bytes; the 16th would straddle the cut.
  CAF_CHECK(contains(err.message, "'" + type.substr(0, 31) + "...'"));
}

CAF_TEST(bad sequence numbers) {
  for (const char* text : {
         R"({"type":"ack"})",
         R"({"type":"ack","seq":0})",
         R"({"type":"ack","seq":-1})",
         R"({"type":"ack","seq":1.5})",
         R"({"type":"ack","seq":12.0})",
         R"({"type":"ack","seq":1e3})",
         R"({"type":"ack","seq":"12"})",
         R"({"type":"ack","seq":null})",
         R"({"type":"ack","seq":[12]})",
         R"({"type":"ack","seq":18446744073709551615})",
         R"({"type":"ack","seq":9223372036854775808})",
       }) {
    auto err = parse_error(text);
    CAF_CHECK_EQUAL(err.code, "bad_field");
    CAF_CHECK(contains(err.message, "seq"));
  }
  for (const char* text : {
         R"({"type":"hello","last_seq":-1})",
         R"({"type":"hello","last_seq":0.5})",
         R"({"type":"hello","last_seq":"3"})",
         R"({"type":"hello","last_seq":null})",
         R"({"type":"hello","last_seq":true})",
       }) {
    auto err = parse_error(text);
    CAF_CHECK_EQUAL(err.code, "bad_field");
    CAF_CHECK(contains(err.message, "last_seq"));
  }
  for (const char* text : {
         R"({"type":"read"})",
         R"({"type":"read","id":0})",
         R"({"type":"read","id":-17})",
         R"({"type":"read","id":"17"})",
         R"({"type":"read","message_id":17})",
       }) {
    auto err = parse_error(text);
    CAF_CHECK_EQUAL(err.code, "bad_field");
    CAF_CHECK(contains(err.message, "id"));
  }
}

CAF_TEST(bad tokens) {
  for (const char* text : {
         R"({"type":"auth"})",
         R"({"type":"auth","token":""})",
         R"({"type":"auth","token":5})",
         R"({"type":"auth","token":null})",
         R"({"type":"hello","token":""})",
         R"({"type":"hello","token":{"t":1}})",
         R"({"type":"hello","token":null})",
       }) {
    auto err = parse_error(text);
    CAF_CHECK_EQUAL(err.code, "bad_field");
    CAF_CHECK(contains(err.message, "token"));
  }
}

CAF_TEST(to_json shape) {
  auto j = to_json(sample());
  CAF_CHECK_EQUAL(j.size(), 8u);
  CAF_CHECK_EQUAL(j.at("seq").get<int64_t>(), 12);
  CAF_CHECK_EQUAL(j.at("id").get<int64_t>(), 17);
  CAF_CHECK_EQUAL(j.at("template").get<std::string>(), "order_shipped");
  CAF_CHECK_EQUAL(j.at("channel").get<std::string>(), "web");
  CAF_CHECK_EQUAL(j.at("title").get<std::string>(), "Shipped");
  CAF_CHECK_EQUAL(j.at("body").get<std::string>(), "Order A-17 is on its way");
  CAF_CHECK_EQUAL(j.at("created_at").get<std::string>(),
                  "2024-05-01T10:00:00Z");
  // Embedded as an object, not as a string holding JSON.
  CAF_REQUIRE(j.at("data").is_object());
  CAF_CHECK_EQUAL(j.at("data").at("order").get<std::string>(), "A-17");
  CAF_CHECK_EQUAL(j.dump(), sample_json);
}

CAF_TEST(data that is not a json object becomes an empty object) {
  for (const char* data :
       {"", "not json", "{\"a\":", "[1,2]", "\"text\"", "42", "null"}) {
    auto m = sample_message();
    m.data_json = data;
    auto j = to_json(at(12, m));
    CAF_CHECK_EQUAL(j.at("data").dump(), "{}");
  }
  auto m = sample_message();
  m.data_json = R"({"nested":{"deep":[true,null,"x"]}})";
  auto j = to_json(at(12, m));
  CAF_CHECK_EQUAL(j.at("data").dump(), m.data_json);
}

CAF_TEST(msg frames) {
  auto text = msg_frame(sample());
  auto j = nlohmann::json::parse(text);
  CAF_CHECK_EQUAL(j.at("type").get<std::string>(), "msg");
  CAF_CHECK_EQUAL(j.size(), 9u);
  CAF_CHECK_EQUAL(j.at("seq").get<int64_t>(), 12);
  CAF_CHECK_EQUAL(j.at("data").at("items").size(), 2u);
  CAF_CHECK(!contains(text, "\n"));
}

CAF_TEST(
  a frame put together from sealed content is the object serialised whole) {
  // The same text nlohmann::json writes for the parsed frame: keys sorted,
  // nothing duplicated, silent in its place.
  for (bool silent : {false, true}) {
    auto d = sample();
    d.silent = silent;
    auto text = msg_frame(d);
    auto j = nlohmann::json::parse(text);
    CAF_CHECK_EQUAL(j.dump(), text);
    CAF_CHECK_EQUAL(j.value("silent", false), silent);
    CAF_CHECK_EQUAL(j.size(), silent ? 10u : 9u);
  }
  // Two recipients of one sealed message differ only in seq.
  auto content = seal(sample_message());
  auto a = msg_frame(delivery{5, false, content});
  auto b = msg_frame(delivery{6, false, content});
  CAF_CHECK_EQUAL(nlohmann::json::parse(a).at("seq").get<int64_t>(), 5);
  CAF_CHECK_EQUAL(nlohmann::json::parse(b).at("seq").get<int64_t>(), 6);
}

CAF_TEST(a frame in pieces is the frame) {
  // What a WebSocket session gathers into one write: the same bytes as the
  // frame put together, the largest seq and quiet hours included.
  auto content = seal(sample_message());
  for (int64_t seq : {int64_t{1}, int64_t{12}, int64_t{9'007'199'254'740'993},
                      std::numeric_limits<int64_t>::max()})
    for (bool silent : {false, true}) {
      delivery d{seq, silent, content};
      msg_frame_pieces frame(d);
      std::string joined;
      for (auto piece : frame.pieces())
        joined.append(piece);
      CAF_CHECK_EQUAL(joined, msg_frame(d));
      CAF_CHECK_EQUAL(frame.size(), joined.size());
    }
}

CAF_TEST(sse events) {
  CAF_CHECK_EQUAL(sse_event(sample()),
                  std::string{"id: 12\nevent: msg\ndata: "} + sample_json +
                    "\n\n");
}

CAF_TEST(line breaks stay inside the sse data line) {
  auto d = sample_message();
  d.title = "two\nlines";
  d.body = "crlf\r\nand\rcr\n\nblank";
  d.data_json = R"({"note":"a\nb"})";
  auto event = sse_event(at(12, d));
  // id, event, data and the blank line that ends the event: four breaks.
  CAF_CHECK_EQUAL(std::count(event.begin(), event.end(), '\n'), 4);
  CAF_CHECK_EQUAL(std::count(event.begin(), event.end(), '\r'), 0);
  CAF_CHECK(contains(event, R"("title":"two\nlines")"));
  CAF_CHECK(contains(event, R"("body":"crlf\r\nand\rcr\n\nblank")"));
  const std::string prefix = "id: 12\nevent: msg\ndata: ";
  CAF_REQUIRE(event.size() > prefix.size() + 2);
  CAF_CHECK_EQUAL(event.substr(0, prefix.size()), prefix);
  auto data = event.substr(prefix.size(), event.size() - prefix.size() - 2);
  auto j = nlohmann::json::parse(data);
  CAF_CHECK_EQUAL(j.at("title").get<std::string>(), d.title);
  CAF_CHECK_EQUAL(j.at("body").get<std::string>(), d.body);
  CAF_CHECK_EQUAL(j.at("data").at("note").get<std::string>(), "a\nb");
}

CAF_TEST(invalid utf8 does not throw) {
  auto m = sample_message();
  m.title = "bad \xff byte";
  delivery d;
  std::string frame;
  try {
    d = at(12, m);
    frame = msg_frame(d);
  } catch (const std::exception& e) {
    CAF_FAIL("msg_frame threw: " << e.what());
  }
  CAF_CHECK(contains(frame, "bad \xef\xbf\xbd byte"));
  auto event = sse_event(d);
  CAF_CHECK(contains(event, "bad \xef\xbf\xbd byte"));
}

CAF_TEST(poll bodies) {
  auto next = sample_message();
  next.id = 18;
  auto second = at(13, next);
  CAF_CHECK_EQUAL(poll_body({}, 5, 5),
                  R"({"last_seq":5,"messages":[],"resume_from":5})");
  CAF_CHECK_EQUAL(poll_body({sample()}, 11, 12),
                  std::string{R"({"last_seq":12,"messages":[)"} + sample_json +
                    R"(],"resume_from":11})");
  auto j = nlohmann::json::parse(poll_body({sample(), second}, 4, 13));
  CAF_CHECK_EQUAL(j.at("resume_from").get<int64_t>(), 4);
  CAF_CHECK_EQUAL(j.at("last_seq").get<int64_t>(), 13);
  CAF_REQUIRE_EQUAL(j.at("messages").size(), 2u);
  CAF_CHECK_EQUAL(j.at("messages").at(0).at("seq").get<int64_t>(), 12);
  CAF_CHECK_EQUAL(j.at("messages").at(1).at("seq").get<int64_t>(), 13);
  CAF_CHECK_EQUAL(j.at("messages").at(1).at("id").get<int64_t>(), 18);
  CAF_CHECK(!j.at("messages").at(0).contains("type"));
}

CAF_TEST(welcome frames) {
  CAF_CHECK_EQUAL(welcome_frame("user-42", 3, 9, 1700003600),
                  R"({"last_seq":9,"resume_from":3,)"
                  R"("token_expires_at":1700003600,"type":"welcome",)"
                  R"("user":"user-42"})");
}

CAF_TEST(error frames) {
  CAF_CHECK_EQUAL(error_frame("bad_field", "seq: must be an integer >= 1"),
                  R"({"code":"bad_field","message":"seq: must be an )"
                  R"(integer >= 1","type":"error"})");
  // Quotes and line breaks are escaped.
  CAF_CHECK_EQUAL(error_frame("x", "say \"hi\"\n"),
                  R"({"code":"x","message":"say \"hi\"\n","type":"error"})");
}

CAF_TEST(close codes) {
  const close_code codes[] = {
    normal,        going_away,    protocol_error, message_too_big,
    unauthorized,  token_expired, hello_timeout,  too_many_sessions,
    slow_consumer, bad_frame};
  const uint16_t values[] = {1000, 1001, 1002, 1009, 4001,
                             4002, 4003, 4004, 4005, 4006};
  for (size_t i = 0; i < std::size(codes); ++i) {
    CAF_CHECK_EQUAL(static_cast<uint16_t>(codes[i]), values[i]);
    const std::string text = describe(codes[i]);
    CAF_CHECK(!text.empty());
    // RFC 6455 §5.5: a close reason fits in 123 bytes.
    CAF_CHECK_LESS_OR_EQUAL(text.size(), 123u);
    CAF_CHECK(!contains(text, "\n"));
  }
  CAF_CHECK(std::strlen(describe(static_cast<close_code>(4999))) > 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
