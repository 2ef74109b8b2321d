#define CAF_SUITE net.websocket_frames

#include "net/websocket/frame.hpp"
#include "net/websocket/frame_parser.hpp"
#include "net/websocket/handshake.hpp"

#include <caf/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace herald::net::websocket;

namespace {

/// A frame as a client sends it: masked, with the shortest length.
std::string client_frame(opcode kind, const std::string& payload,
                         bool fin = true, unsigned char first_extra = 0) {
  std::string frame;
  frame.push_back(static_cast<char>((fin ? 0x80 : 0) | first_extra |
                                    static_cast<uint8_t>(kind)));
  auto size = payload.size();
  if (size < 126) {
    frame.push_back(static_cast<char>(0x80 | size));
  } else if (size < 65536) {
    frame.push_back(static_cast<char>(0x80 | 126));
    frame.push_back(static_cast<char>(size >> 8));
    frame.push_back(static_cast<char>(size));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      frame.push_back(static_cast<char>(uint64_t{size} >> (8 * i)));
  }
  const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  frame.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < size; ++i)
    frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return frame;
}

/// What the parser reported, in order, as readable lines.
struct recorder : frame_parser::handler {
  std::vector<std::string> events;
  std::string message;

  void on_data(opcode kind, std::string_view piece) override {
    if (message.empty())
      events.push_back(kind == opcode::text ? "text" : "binary");
    message.append(piece);
  }
  void on_message_end(opcode) override {
    events.push_back("message " + message);
    message.clear();
  }
  void on_control(opcode kind, std::string_view payload) override {
    auto name = kind == opcode::ping   ? "ping"
                : kind == opcode::pong ? "pong"
                                       : "close";
    events.push_back(std::string{name} + " " + std::string{payload});
  }
};

/// Feeds `bytes` in pieces of `piece` bytes; the first violation, if any.
std::optional<violation> feed(frame_parser& parser, std::string bytes,
                              recorder& to, size_t piece) {
  std::optional<violation> first;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    auto size = std::min(piece, bytes.size() - at);
    auto broken = parser.feed(bytes.data() + at, size, to);
    if (broken && !first)
      first = broken;
  }
  return first;
}

/// The violation `bytes` end in, fed at once (0 when none).
uint16_t violation_of(const std::string& bytes, uint64_t limit = 1024) {
  frame_parser parser{limit};
  recorder to;
  auto broken = feed(parser, bytes, to, bytes.size());
  return broken ? broken->code : 0;
}

} // namespace

CAF_TEST(a message reads the same however the socket cuts it) {
  std::string payload(300, 'x');
  payload[0] = '{';
  auto bytes = client_frame(opcode::text, "hello") +
               client_frame(opcode::text, payload) +
               client_frame(opcode::text, "");
  for (size_t piece : {1u, 2u, 3u, 7u, 13u, 256u, 4096u}) {
    frame_parser parser{1024};
    recorder to;
    CAF_CHECK(!feed(parser, bytes, to, piece));
    CAF_REQUIRE_EQUAL(to.events.size(), 5u);
    CAF_CHECK_EQUAL(to.events[1], "message hello");
    CAF_CHECK_EQUAL(to.events[3], "message " + payload);
    CAF_CHECK_EQUAL(to.events[4], "message "); // an empty message is one
  }
}

CAF_TEST(control frames arrive whole between the fragments of a message) {
  auto bytes = client_frame(opcode::text, "hel", false) +
               client_frame(opcode::ping, "are you there") +
               client_frame(opcode::continuation, "lo", false) +
               client_frame(opcode::pong, "") +
               client_frame(opcode::continuation, " world") +
               client_frame(opcode::close, "\x03\xe8");
  for (size_t piece : {1u, 5u, 4096u}) {
    frame_parser parser{1024};
    recorder to;
    CAF_CHECK(!feed(parser, bytes, to, piece));
    std::vector<std::string> expected{"text", "ping are you there", "pong ",
                                      "message hello world",
                                      std::string{"close \x03\xe8"}};
    CAF_CHECK_EQUAL(to.events, expected);
  }
}

CAF_TEST(a message over the limit closes with 1009 whole or in fragments) {
  CAF_CHECK_EQUAL(
    violation_of(client_frame(opcode::text, std::string(1024, 'a'))), 0u);
  CAF_CHECK_EQUAL(
    violation_of(client_frame(opcode::text, std::string(1025, 'a'))),
    close_message_too_big);
  auto fragments = client_frame(opcode::text, std::string(600, 'a'), false) +
                   client_frame(opcode::continuation, std::string(600, 'a'));
  CAF_CHECK_EQUAL(violation_of(fragments), close_message_too_big);
  // The header alone decides: 2^40 bytes are refused before any arrive.
  std::string huge = "\x81\xff";
  huge += std::string("\x00\x00\x01\x00\x00\x00\x00\x00", 8) + "abcd";
  CAF_CHECK_EQUAL(violation_of(huge), close_message_too_big);
}

CAF_TEST(a limit past 4 GiB is held just under it) {
  // The parser counts a message's bytes in 32 bits (every connection
  // holds one): 2^32 bytes are over any limit, 2^32 - 1 within it.
  auto header_of = [](uint64_t length) {
    std::string header = "\x81\xff";
    for (int shift = 56; shift >= 0; shift -= 8)
      header += static_cast<char>((length >> shift) & 0xff);
    return header + "abcd";
  };
  CAF_CHECK_EQUAL(violation_of(header_of(uint64_t{1} << 32), UINT64_MAX),
                  close_message_too_big);
  CAF_CHECK_EQUAL(violation_of(header_of((uint64_t{1} << 32) - 1), UINT64_MAX),
                  0u);
  CAF_CHECK_EQUAL(violation_of(client_frame(opcode::text, "hi"), UINT64_MAX),
                  0u);
}

CAF_TEST(frames that break RFC 6455 close with 1002) {
  auto unmasked = client_frame(opcode::text, "hi");
  unmasked[1] = static_cast<char>(unmasked[1] & 0x7f);
  unmasked.erase(2, 4);
  CAF_CHECK_EQUAL(violation_of(unmasked), close_protocol_error);
  CAF_CHECK_EQUAL(violation_of(client_frame(opcode::text, "hi", true, 0x40)),
                  close_protocol_error); // RSV1 without permessage-deflate
  CAF_CHECK_EQUAL(violation_of(client_frame(static_cast<opcode>(0x3), "hi")),
                  close_protocol_error);
  CAF_CHECK_EQUAL(violation_of(client_frame(opcode::ping, "hi", false)),
                  close_protocol_error);
  CAF_CHECK_EQUAL(
    violation_of(client_frame(opcode::ping, std::string(126, 'p'))),
    close_protocol_error);
  CAF_CHECK_EQUAL(violation_of(client_frame(opcode::continuation, "hi")),
                  close_protocol_error);
  CAF_CHECK_EQUAL(violation_of(client_frame(opcode::text, "a", false) +
                               client_frame(opcode::text, "b")),
                  close_protocol_error);
  // Lengths must be in their shortest form.
  CAF_CHECK_EQUAL(
    violation_of(std::string("\x81\xfe\x00\x05", 4) + "abcd" + "hello"),
    close_protocol_error);
  CAF_CHECK_EQUAL(
    violation_of(std::string("\x81\xff\x00\x00\x00\x00\x00\x00\x00\x05", 10) +
                 "abcd" + "hello"),
    close_protocol_error);
  CAF_CHECK_EQUAL(
    violation_of(std::string("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10) +
                   "abcd",
                 UINT64_MAX),
    close_protocol_error);
}

CAF_TEST(after a violation the rest is ignored) {
  frame_parser parser{1024};
  recorder to;
  auto bytes = client_frame(opcode::continuation, "x");
  CAF_CHECK(parser.feed(bytes.data(), bytes.size(), to));
  auto more = client_frame(opcode::text, "after");
  CAF_CHECK(!parser.feed(more.data(), more.size(), to));
  CAF_CHECK(to.events.empty());
}

CAF_TEST(close payloads : a code a peer may send and a UTF - 8 reason) {
  close_frame_content content;
  CAF_CHECK(!parse_close("", content));
  CAF_CHECK(!content.code);
  CAF_CHECK(!parse_close("\x0f\xa6going", content)); // 4006
  CAF_CHECK_EQUAL(*content.code, 4006u);
  CAF_CHECK_EQUAL(content.reason, "going");
  auto code_of = [&](std::string_view payload) -> uint16_t {
    auto broken = parse_close(payload, content);
    return broken ? broken->code : 0;
  };
  CAF_CHECK_EQUAL(code_of("\x03"), close_protocol_error);
  for (auto reserved : {"\x03\xed", "\x03\xee", "\x03\xe7", "\x13\x88",
                        "\x03\xf7"}) // 1005, 1006, 999, 5000, 1015
    CAF_CHECK_EQUAL(code_of(reserved), close_protocol_error);
  CAF_CHECK_EQUAL(code_of("\x03\xe8\xff"), close_invalid_payload);
}

CAF_TEST(server frames : the shortest header and unmasked) {
  CAF_CHECK_EQUAL(server_header(opcode::text, 0).size, 2u);
  CAF_CHECK_EQUAL(server_header(opcode::text, 125).size, 2u);
  auto medium = server_header(opcode::text, 126);
  CAF_CHECK_EQUAL(medium.size, 4u);
  CAF_CHECK_EQUAL(static_cast<unsigned char>(medium.bytes[0]), 0x81u);
  CAF_CHECK_EQUAL(static_cast<unsigned char>(medium.bytes[1]), 126u);
  CAF_CHECK_EQUAL(server_header(opcode::text, 65535).size, 4u);
  auto big = server_header(opcode::text, 65536);
  CAF_CHECK_EQUAL(big.size, 10u);
  CAF_CHECK_EQUAL(static_cast<unsigned char>(big.bytes[7]), 1u);
  CAF_CHECK_EQUAL(close_frame(std::nullopt, "ignored"),
                  std::string("\x88\x00", 2));
  // The reason is cut to 123 bytes without splitting a character.
  std::string accents;
  for (int i = 0; i < 70; ++i)
    accents += "\xc3\xa9"; // é
  auto frame = close_frame(4005, accents);
  CAF_CHECK_EQUAL(frame.size(), 2u + 2u + 122u);
  CAF_CHECK_EQUAL(frame.substr(0, 4), std::string("\x88\x7c\x0f\xa5", 4));
}

CAF_TEST(the accept key of RFC 6455's example and keys that are not 16 bytes) {
  auto accept = accept_for("dGhlIHNhbXBsZSBub25jZQ==");
  CAF_REQUIRE(accept);
  CAF_CHECK_EQUAL(*accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CAF_CHECK(!accept_for(""));
  CAF_CHECK(!accept_for("dGhlIHNhbXBsZSBub25jZQ"));   // no padding
  CAF_CHECK(!accept_for("dGhlIHNhbXBsZSBub25j!Q==")); // not base64
  CAF_CHECK(!accept_for("dGhlIHNhbXBsZSBub25jZQ==x"));
  auto answer = switching_protocols("abc=", "herald.v1");
  CAF_CHECK(answer.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
  CAF_CHECK(answer.find("\r\nSec-WebSocket-Accept: abc=\r\n") !=
            std::string::npos);
  CAF_CHECK(answer.find("\r\nSec-WebSocket-Protocol: herald.v1\r\n\r\n") !=
            std::string::npos);
}
