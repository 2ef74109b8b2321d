#pragma once

// RFC 6455's vocabulary, shared by the parser, the writer and the session.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald::net::websocket {

enum class opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// Close codes of the WebSocket protocol itself (RFC 6455 §7.4.1); the
/// application's are in core/protocol.hpp.
inline constexpr uint16_t close_normal = 1000;
inline constexpr uint16_t close_protocol_error = 1002;
inline constexpr uint16_t close_invalid_payload = 1007;
inline constexpr uint16_t close_message_too_big = 1009;

/// A broken rule: the connection closes with `code`, saying `reason`.
struct violation {
  uint16_t code;
  const char* reason;
};

/// A close frame's content. A close without a code is answered with a
/// close without one.
struct close_frame_content {
  std::optional<uint16_t> code;
  std::string_view reason;
};

/// Reads a close frame's payload: a code a peer may send (§7.4) and a
/// UTF-8 reason, or nothing at all.
std::optional<violation> parse_close(std::string_view payload,
                                     close_frame_content& out);

/// The header of an unmasked frame from the server: at most 10 bytes.
struct frame_header {
  std::array<char, 10> bytes{};
  uint8_t size = 0;
};

/// The header of one whole (final) frame of `payload_size` bytes.
frame_header server_header(opcode kind, uint64_t payload_size);

/// A whole ping or pong frame; the payload is cut to 125 bytes.
std::string control_frame(opcode kind, std::string_view payload);

/// A whole close frame: the code and the reason, cut to the 123 bytes
/// a close frame holds without splitting a character; no code, no reason.
std::string close_frame(std::optional<uint16_t> code, std::string_view reason);

} // namespace herald::net::websocket
