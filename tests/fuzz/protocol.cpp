// herald.v1 both ways: a client's text frame through parse_client_frame,
// and the same bytes as the title, body, data and template of a delivery
// through every frame the engine writes (publishers choose those texts).

#include "core/protocol.hpp"
#include "core/utf8.hpp"
#include "fuzz_support.hpp"

#include <nlohmann/json.hpp>

namespace {

using namespace herald;
using namespace herald::protocol;
using herald::fuzz::check;
using json = nlohmann::json;

void check_frame(const client_frame& frame) {
  if (auto h = std::get_if<hello>(&frame)) {
    check(h->last_seq >= 0, "hello: last_seq >= 0");
    check(!h->token || !h->token->empty(), "hello: token absent or non-empty");
  } else if (auto a = std::get_if<ack>(&frame)) {
    check(a->seq >= 1, "ack: seq >= 1");
  } else if (auto t = std::get_if<auth>(&frame)) {
    check(!t->token.empty(), "auth: token non-empty");
  } else if (auto r = std::get_if<read>(&frame)) {
    check(r->message_id >= 1, "read: id >= 1");
  }
}

void check_error(const frame_error& err) {
  check(err.code == "bad_json" || err.code == "bad_frame" ||
          err.code == "bad_field",
        "frame_error: known code");
  // The session sends the message back as a close reason, which must be
  // UTF-8 (RFC 6455 §5.5.1) or the browser drops the connection instead.
  check(fuzz::is_utf8(err.message), "frame_error: message is UTF-8");
  check(err.message.size() <= 160, "frame_error: message is short");
  auto frame = json::parse(error_frame(err.code, err.message), nullptr, false);
  check(frame.is_object() && frame["type"] == "error",
        "error_frame: a JSON object of type error");
}

// Engine-written frames must be JSON objects whatever the texts hold.
json parse_object(const std::string& text, const char* what) {
  auto value = json::parse(text, nullptr, false);
  check(!value.is_discarded() && value.is_object(), what);
  return value;
}

void check_outgoing(std::string_view text) {
  web_message m;
  m.id = 7;
  m.template_code = std::string{text};
  m.title = std::string{text};
  m.body = std::string{text};
  m.data_json = std::string{text};
  m.created_at = "2024-05-01T10:00:00Z";
  delivery d{static_cast<int64_t>(text.size()) + 1, text.size() % 2 == 1,
             seal(m)};

  auto msg = parse_object(msg_frame(d), "msg_frame: a JSON object");
  check(msg["type"] == "msg", "msg_frame: type msg");
  check(msg["data"].is_object(), "msg_frame: data is an object");
  check(msg["seq"] == d.seq, "msg_frame: seq kept");

  // One event of exactly three lines: a line break inside the data would
  // end the event early or inject fields (the SSE parser also splits on CR).
  auto event = sse_event(d);
  const auto prefix = "id: " + std::to_string(d.seq) + "\nevent: msg\ndata: ";
  check(event.compare(0, prefix.size(), prefix) == 0, "sse_event: prefix");
  check(event.size() >= prefix.size() + 2 &&
          event.compare(event.size() - 2, 2, "\n\n") == 0,
        "sse_event: ends with a blank line");
  const auto data =
    event.substr(prefix.size(), event.size() - prefix.size() - 2);
  check(data.find_first_of("\r\n") == std::string::npos,
        "sse_event: data on one line");
  parse_object(data, "sse_event: data is a JSON object");

  auto poll = parse_object(poll_body({d, d}, 0, d.seq), "poll_body: an object");
  check(poll["messages"].size() == 2, "poll_body: both messages");

  auto welcome = parse_object(welcome_frame(text, 0, d.seq, 1), "welcome");
  check(welcome["type"] == "welcome", "welcome_frame: type welcome");
}

// core/utf8 against two other opinions: the harness's own decoder and
// nlohmann::json's serialiser, which refuses exactly the invalid text.
void check_utf8(std::string_view text) {
  const bool valid = utf8::valid(text);
  check(valid == fuzz::is_utf8(text), "utf8::valid agrees with the harness");
  bool dumps = true;
  try {
    (void)json(std::string{text}).dump();
  } catch (const json::type_error&) {
    dumps = false;
  }
  check(valid == dumps, "utf8::valid agrees with nlohmann::json");
  for (size_t max : {size_t{0}, size_t{1}, text.size() / 2, size_t{32}}) {
    const auto cut = utf8::truncate(text, max);
    check(cut.size() <= max || cut.size() == text.size(),
          "utf8::truncate: at most max bytes");
    check(text.substr(0, cut.size()) == cut, "utf8::truncate: a prefix");
    check(!valid || utf8::valid(cut), "utf8::truncate: valid stays valid");
    check(!valid || cut.size() + 3 >= std::min(max, text.size()),
          "utf8::truncate: drops at most one partial character");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = fuzz::as_text(data, size);
  auto parsed = parse_client_frame(text);
  if (auto frame = std::get_if<client_frame>(&parsed))
    check_frame(*frame);
  else
    check_error(std::get<frame_error>(parsed));
  check_outgoing(text);
  check_utf8(text);
  return 0;
}
