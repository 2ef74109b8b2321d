#include "core/protocol.hpp"

#include "core/utf8.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include <nlohmann/json.hpp>

namespace herald::protocol {

namespace {

using json = nlohmann::json;

// Titles and bodies come from templates and vars that may hold invalid
// UTF-8; a throwing dump would kill a session over one message.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

frame_error bad_field(const char* key, std::string_view what) {
  return frame_error{"bad_field", std::string{key} + ": " + std::string{what}};
}

// Reads an integer field >= `min` into `out`; leaves `out` alone when the
// field is absent and optional.
std::optional<frame_error> read_int(const json& frame, const char* key,
                                    int64_t min, bool required, int64_t& out) {
  const auto it = frame.find(key);
  const auto expected = "must be an integer >= " + std::to_string(min);
  if (it == frame.end()) {
    if (required)
      return bad_field(key, "missing, " + expected);
    return std::nullopt;
  }
  // Floats are refused even when whole: clients send integers, and 1e300
  // has no int64_t.
  if (!it->is_number_integer())
    return bad_field(key, expected);
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() >
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return bad_field(key, expected);
  }
  const auto value = it->get<int64_t>();
  if (value < min)
    return bad_field(key, expected);
  out = value;
  return std::nullopt;
}

// Reads a non-empty string field into `out`, like read_int.
std::optional<frame_error> read_token(const json& frame, const char* key,
                                      bool required,
                                      std::optional<std::string>& out) {
  const auto it = frame.find(key);
  constexpr std::string_view expected = "must be a non-empty string";
  if (it == frame.end()) {
    if (required)
      return bad_field(key, "missing, " + std::string{expected});
    return std::nullopt;
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    return bad_field(key, expected);
  out = it->get<std::string>();
  return std::nullopt;
}

// Reads an optional boolean field into `out`, like read_int.
std::optional<frame_error> read_flag(const json& frame, const char* key,
                                     bool& out) {
  const auto it = frame.find(key);
  if (it == frame.end())
    return std::nullopt;
  if (!it->is_boolean())
    return bad_field(key, "must be true or false");
  out = it->get<bool>();
  return std::nullopt;
}

// Echoing a client's text back is helpful, echoing a megabyte is not. The
// cut falls between characters: the message becomes a close reason, and a
// browser drops a connection whose close reason is not UTF-8.
std::string shorten(const std::string& text) {
  constexpr size_t limit = 32;
  if (text.size() <= limit)
    return text;
  return std::string{utf8::truncate(text, limit)} + "...";
}

} // namespace

std::variant<client_frame, frame_error>
parse_client_frame(std::string_view text) {
  const auto frame = json::parse(text, nullptr, false);
  if (frame.is_discarded())
    return frame_error{"bad_json", "the frame is not valid JSON"};
  if (!frame.is_object())
    return frame_error{"bad_frame", "a frame must be a JSON object"};
  const auto type_it = frame.find("type");
  if (type_it == frame.end())
    return frame_error{"bad_frame", "the frame has no \"type\""};
  if (!type_it->is_string())
    return frame_error{"bad_frame", "\"type\" must be a string"};
  const auto& type = type_it->get_ref<const std::string&>();
  if (type == "hello") {
    hello result;
    if (auto err = read_token(frame, "token", false, result.token))
      return *err;
    if (auto err = read_int(frame, "last_seq", 0, false, result.last_seq))
      return *err;
    if (auto err = read_flag(frame, "heartbeat", result.heartbeat))
      return *err;
    if (auto err = read_flag(frame, "batch", result.batch))
      return *err;
    return result;
  }
  if (type == "ack") {
    ack result;
    if (auto err = read_int(frame, "seq", 1, true, result.seq))
      return *err;
    return result;
  }
  if (type == "auth") {
    std::optional<std::string> token;
    if (auto err = read_token(frame, "token", true, token))
      return *err;
    return auth{std::move(*token)};
  }
  if (type == "read") {
    read result;
    if (auto err = read_int(frame, "id", 1, true, result.message_id))
      return *err;
    return result;
  }
  return frame_error{"bad_frame", "unknown frame type '" + shorten(type) +
                                    "' (expected hello, ack, auth or read)"};
}

std::shared_ptr<const web_content> seal(const web_message& m) {
  auto data = json::parse(m.data_json, nullptr, false);
  // The client's code reads data.x: anything but an object would break it.
  if (data.is_discarded() || !data.is_object())
    data = json::object();
  // Keys in the order nlohmann::json sorts them, so a frame is the same
  // text as the object serialised whole: body, channel, created_at, data,
  // id | seq, silent | template, title | type.
  auto out = std::make_shared<web_content>();
  out->id = m.id;
  out->created_unix = m.created_unix;
  out->members_before_seq = "\"body\":" + dump(m.body) +
                            R"(,"channel":"web","created_at":)" +
                            dump(m.created_at) + R"(,"data":)" + dump(data) +
                            R"(,"id":)" + std::to_string(m.id);
  out->members_after_seq =
    "\"template\":" + dump(m.template_code) + R"(,"title":)" + dump(m.title);
  return out;
}

namespace {

constexpr size_t own_room = msg_frame_pieces::own_part_room;

// The recipient's own part of an item, ,"seq":N[,"silent":true], into
// `out` (own_room bytes, enough for any seq); returns its length.
size_t write_own_part(char* out, const delivery& d) {
  auto end = out;
  auto put = [&end](std::string_view text) {
    end = std::copy(text.begin(), text.end(), end);
  };
  put(R"(,"seq":)");
  end = std::to_chars(end, out + own_room, d.seq).ptr;
  if (d.silent)
    put(R"(,"silent":true)");
  put(",");
  return static_cast<size_t>(end - out);
}

// {members..."seq":N[,"silent":true],...members}: a delivery's object in
// SSE events and poll bodies (msg frames: msg_frame_pieces).
void append_item(std::string& out, const delivery& d) {
  const auto& m = *d.content;
  std::array<char, own_room> own;
  out += '{';
  out += m.members_before_seq;
  out.append(own.data(), write_own_part(own.data(), d));
  out += m.members_after_seq;
  out += '}';
}

size_t item_size(const delivery& d) {
  return d.content->weight() + 64;
}

} // namespace

nlohmann::json to_json(const delivery& d) {
  std::string text;
  append_item(text, d);
  return json::parse(text);
}

std::string msg_frame(const delivery& d) {
  msg_frame_pieces frame(d);
  std::string out;
  out.reserve(frame.size());
  for (auto piece : frame.pieces())
    out += piece;
  return out;
}

msg_frame_pieces::msg_frame_pieces(const delivery& d) {
  const auto& m = *d.content;
  pieces_ = {"{", m.members_before_seq,
             std::string_view{own_.data(), write_own_part(own_.data(), d)},
             m.members_after_seq, R"(,"type":"msg"})"};
  for (const auto& piece : pieces_)
    size_ += piece.size();
}

std::string welcome_frame(std::string_view user, int64_t resume_from,
                          int64_t last_seq, int64_t token_expires_at,
                          int64_t heartbeat_ms) {
  json frame{{"type", "welcome"},
             {"user", user},
             {"resume_from", resume_from},
             {"last_seq", last_seq},
             {"token_expires_at", token_expires_at}};
  if (heartbeat_ms > 0)
    frame["heartbeat_ms"] = heartbeat_ms;
  return dump(frame);
}

std::string heartbeat_frame() {
  return R"({"type":"heartbeat"})";
}

std::string error_frame(std::string_view code, std::string_view message) {
  return dump(json{{"type", "error"}, {"code", code}, {"message", message}});
}

std::string sse_event(const delivery& d) {
  std::string out;
  out.reserve(item_size(d) + 40);
  out += "id: ";
  out += std::to_string(d.seq);
  out += "\nevent: msg\ndata: ";
  append_item(out, d);
  out += "\n\n";
  return out;
}

std::string poll_body(const std::vector<delivery>& ds, int64_t resume_from,
                      int64_t last_seq) {
  std::string out = R"({"last_seq":)";
  out += std::to_string(last_seq);
  out += R"(,"messages":[)";
  for (size_t i = 0; i < ds.size(); ++i) {
    if (i > 0)
      out += ',';
    append_item(out, ds[i]);
  }
  out += R"(],"resume_from":)";
  out += std::to_string(resume_from);
  out += '}';
  return out;
}

const char* describe(close_code c) {
  switch (c) {
    case normal:
      return "normal closure";
    case going_away:
      return "the server is going away";
    case protocol_error:
      return "websocket protocol error";
    case message_too_big:
      return "frame too big";
    case unauthorized:
      return "unauthorized: invalid token or token for another user";
    case token_expired:
      return "token expired and no fresh token was sent";
    case hello_timeout:
      return "no hello frame in time";
    case too_many_sessions:
      return "too many live sessions for this user";
    case slow_consumer:
      return "slow consumer: reconnect and resume with last_seq";
    case bad_frame:
      return "invalid herald.v1 frame";
  }
  return "unknown close code";
}

} // namespace herald::protocol
