#include "net/websocket/frame.hpp"

#include "core/utf8.hpp"

namespace herald::net::websocket {

namespace {

/// Codes a peer may put in a close frame (RFC 6455 §7.4.1-2): the defined
/// ones that are not reserved for reporting, and the registered and
/// private ranges.
bool sendable(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

} // namespace

std::optional<violation> parse_close(std::string_view payload,
                                     close_frame_content& out) {
  out = {};
  if (payload.empty())
    return std::nullopt;
  if (payload.size() == 1)
    return violation{close_protocol_error,
                     "a close frame's code takes two bytes"};
  auto code =
    static_cast<uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                          static_cast<unsigned char>(payload[1]));
  if (!sendable(code))
    return violation{close_protocol_error, "a close code no peer may send"};
  auto reason = payload.substr(2);
  if (!utf8::valid(reason))
    return violation{close_invalid_payload, "a close reason must be UTF-8"};
  out.code = code;
  out.reason = reason;
  return std::nullopt;
}

frame_header server_header(opcode kind, uint64_t payload_size) {
  frame_header header;
  auto& b = header.bytes;
  b[0] = static_cast<char>(0x80 | static_cast<uint8_t>(kind));
  if (payload_size < 126) {
    b[1] = static_cast<char>(payload_size);
    header.size = 2;
  } else if (payload_size < 65536) {
    b[1] = 126;
    b[2] = static_cast<char>(payload_size >> 8);
    b[3] = static_cast<char>(payload_size);
    header.size = 4;
  } else {
    b[1] = 127;
    for (int i = 0; i < 8; ++i)
      b[2 + i] = static_cast<char>(payload_size >> (8 * (7 - i)));
    header.size = 10;
  }
  return header;
}

std::string control_frame(opcode kind, std::string_view payload) {
  payload = payload.substr(0, 125);
  auto header = server_header(kind, payload.size());
  std::string frame(header.bytes.data(), header.size);
  frame.append(payload);
  return frame;
}

std::string close_frame(std::optional<uint16_t> code, std::string_view reason) {
  if (!code)
    return control_frame(opcode::close, {});
  std::string payload;
  payload.push_back(static_cast<char>(*code >> 8));
  payload.push_back(static_cast<char>(*code & 0xff));
  payload.append(utf8::truncate(reason, 123));
  return control_frame(opcode::close, payload);
}

} // namespace herald::net::websocket
