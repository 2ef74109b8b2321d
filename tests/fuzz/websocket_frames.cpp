// Client bytes on a WebSocket connection through net/websocket's frame
// parser, cut where the input says: the frames must read the same however
// the socket cuts them, and what comes out must obey RFC 6455's limits.
//
// Input: the first byte seeds where the bytes are cut; the rest is what a
// client sent.

#include "fuzz_support.hpp"
#include "net/websocket/frame.hpp"
#include "net/websocket/frame_parser.hpp"

#include <string>
#include <vector>

namespace {

using namespace herald::net::websocket;
using herald::fuzz::check;

constexpr uint64_t limit = 4096;

struct recorder : frame_parser::handler {
  std::vector<std::string> events;
  std::string message;
  uint64_t message_bytes = 0;

  void on_data(opcode kind, std::string_view piece) override {
    check(kind == opcode::text || kind == opcode::binary,
          "data is of a text or binary message");
    message_bytes += piece.size();
    check(message_bytes <= limit, "no message passes the limit");
    message.append(piece);
  }
  void on_message_end(opcode kind) override {
    events.push_back(std::to_string(static_cast<int>(kind)) + ":" + message);
    message.clear();
    message_bytes = 0;
  }
  void on_control(opcode kind, std::string_view payload) override {
    check(payload.size() <= 125, "control payloads are at most 125 bytes");
    check(kind == opcode::ping || kind == opcode::pong || kind == opcode::close,
          "control frames are ping, pong or close");
    events.push_back("c" + std::to_string(static_cast<int>(kind)) + ":" +
                     std::string{payload});
    if (kind == opcode::close) {
      close_frame_content content;
      if (!parse_close(payload, content) && content.code)
        check(*content.code >= 1000 && *content.code < 5000,
              "an accepted close code is in range");
    }
  }
};

/// Events and the violation's code, feeding `bytes` in pieces whose sizes
/// come from `seed`.
std::pair<std::vector<std::string>, int> read(std::string bytes,
                                              unsigned seed) {
  frame_parser parser{limit};
  recorder to;
  int code = 0;
  size_t at = 0;
  while (at < bytes.size()) {
    seed = seed * 1103515245u + 12345u;
    size_t piece = seed == 0 ? bytes.size() : 1 + (seed >> 16) % 40;
    piece = std::min(piece, bytes.size() - at);
    auto events_before = to.events.size();
    auto broken = parser.feed(bytes.data() + at, piece, to);
    if (code != 0)
      check(!broken && to.events.size() == events_before,
            "nothing comes out after a violation");
    if (broken) {
      check(broken->code == close_protocol_error ||
              broken->code == close_message_too_big,
            "violations close with 1002 or 1009");
      code = broken->code;
    }
    at += piece;
  }
  return {to.events, code};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto whole = read(bytes, 0);
  auto cut = read(bytes, data[0] + 1u);
  check(whole == cut, "the frames read the same however they are cut");
  // What the engine writes reads back as written (as a client would mask
  // it, the parser needs a mask: the server's own frames are unmasked).
  for (auto kind : {opcode::ping, opcode::pong}) {
    auto frame = control_frame(kind, bytes);
    check(frame.size() == 2 + std::min<size_t>(bytes.size(), 125),
          "control frames are cut to 125 bytes");
  }
  auto header = server_header(opcode::text, bytes.size());
  check(header.size == (bytes.size() < 126     ? 2
                        : bytes.size() < 65536 ? 4
                                               : 10),
        "server headers use the shortest length");
  return 0;
}
