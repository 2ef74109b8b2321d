#pragma once

#include "core/delivery.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

/// The herald.v1 frames: WebSocket JSON frames, SSE events and long-poll
/// bodies, which all carry deliveries in the same shape.
namespace herald::protocol {

/// The WebSocket subprotocol a client must ask for.
inline constexpr const char* subprotocol = "herald.v1";

/// {"type":"hello","token":"...","last_seq":12}: the first frame; resumes
/// after last_seq (0, the default, means from the start of the history).
struct hello {
  /// Absent when the token came another way (e.g. the upgrade request).
  std::optional<std::string> token;
  int64_t last_seq = 0;
  /// "heartbeat": true asks for heartbeat frames a script can see (a
  /// browser hides WebSocket pings), for a liveness watchdog.
  bool heartbeat = false;
  /// "batch": true lets the server put several frames into one WebSocket
  /// message, one per line (frames never contain a raw newline).
  bool batch = false;
};

/// {"type":"ack","seq":12}: everything up to seq arrived.
struct ack {
  int64_t seq = 0;
};

/// {"type":"auth","token":"..."}: a fresh token on a live connection, sent
/// before the current one expires.
struct auth {
  std::string token;
};

/// {"type":"read","id":17}: the user has read message 17.
struct read {
  int64_t message_id = 0;
};

/// Any frame a client may send.
using client_frame = std::variant<hello, ack, auth, read>;

/// Why a client frame was refused.
struct frame_error {
  /// "bad_json", "bad_frame" (not an object, unknown or missing type) or
  /// "bad_field".
  std::string code;
  /// For people; for "bad_field" it names the field and what was wrong.
  std::string message;
};

/// Parses one client text frame. Fields not listed above are ignored, so
/// that newer clients can talk to older engines; optional fields must be
/// either absent or valid (null is not absent).
std::variant<client_frame, frame_error>
parse_client_frame(std::string_view text);

/// Serialises a message's part of every frame, once for all recipients.
std::shared_ptr<const web_content> seal(const web_message& m);

/// {"seq","id","template","channel","title","body","data","created_at"},
/// with data_json embedded as an object ({} when it is not a JSON object),
/// and "silent":true during quiet hours.
nlohmann::json to_json(const delivery& d);

/// to_json(d) plus "type":"msg", as text: put together from the sealed
/// content and the recipient's seq; nothing is parsed or serialised.
std::string msg_frame(const delivery& d);

/// msg_frame(d) as pieces that point into the sealed content, for a
/// writer that gathers them (one message to many sessions is then neither
/// copied nor put together per session). Only the recipient's own part is
/// held here: the pieces live as long as this and `d` do.
class msg_frame_pieces {
public:
  explicit msg_frame_pieces(const delivery& d);
  msg_frame_pieces(const msg_frame_pieces&) = delete;
  msg_frame_pieces& operator=(const msg_frame_pieces&) = delete;

  static constexpr size_t piece_count = 5;

  /// In order; their concatenation is msg_frame(d).
  const std::array<std::string_view, piece_count>& pieces() const {
    return pieces_;
  }

  /// The frame's size in bytes.
  size_t size() const { return size_; }

  /// Room for the recipient's own part, ,"seq":N[,"silent":true],
  static constexpr size_t own_part_room = 48;

private:
  std::array<char, own_part_room> own_{};
  std::array<std::string_view, piece_count> pieces_;
  size_t size_ = 0;
};

/// {"type":"welcome","user":...,"resume_from":N,"last_seq":M,
/// "token_expires_at":T}: the answer to a good hello.
/// With heartbeat_ms > 0 (the client asked for heartbeats) it carries
/// "heartbeat_ms": the longest the client should wait for any frame before
/// it takes the connection for dead (the ping interval plus its timeout).
std::string welcome_frame(std::string_view user, int64_t resume_from,
                          int64_t last_seq, int64_t token_expires_at,
                          int64_t heartbeat_ms = 0);

/// {"type":"heartbeat"}: sent every ping interval to clients that asked.
std::string heartbeat_frame();

/// {"type":"error","code":...,"message":...}.
std::string error_frame(std::string_view code, std::string_view message);

/// One SSE event: "id: <seq>\nevent: msg\ndata: <to_json(d)>\n\n". The JSON
/// escapes line breaks, so data stays on one line.
std::string sse_event(const delivery& d);

/// A long-poll answer: {"messages":[to_json...],"resume_from":R,
/// "last_seq":N}. R is where the answer starts: the poll's `after`, or less
/// when that was past the user's feed (a stale client starts over there);
/// N is where the next poll resumes.
std::string poll_body(const std::vector<delivery>& ds, int64_t resume_from,
                      int64_t last_seq);

/// WebSocket close codes of herald.v1; 4000-4999 are ours (RFC 6455 §7.4.2).
enum close_code : uint16_t {
  /// The session ended normally, e.g. the client logged out.
  normal = 1000,
  /// The engine is shutting down; reconnect, preferably elsewhere.
  going_away = 1001,
  /// The peer broke the WebSocket protocol itself (not herald.v1).
  protocol_error = 1002,
  /// A frame larger than the engine accepts.
  message_too_big = 1009,
  /// A bad token in hello or auth, or a token for another user.
  unauthorized = 4001,
  /// The connection's token expired and no fresh one came in an auth frame.
  token_expired = 4002,
  /// No hello within the hello timeout.
  hello_timeout = 4003,
  /// The user already has the maximum number of live sessions.
  too_many_sessions = 4004,
  /// The client did not read fast enough; resume later with last_seq.
  slow_consumer = 4005,
  /// A frame that is not valid herald.v1.
  bad_frame = 4006,
};

/// A one-line reason, also sent as the close reason (at most 123 bytes).
const char* describe(close_code c);

} // namespace herald::protocol
