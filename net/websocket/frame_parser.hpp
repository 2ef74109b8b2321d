#pragma once

// RFC 6455 frames as a client sends them, read incrementally: no I/O, no
// Asio, so that it can be fuzzed and tested on bytes alone.

#include "net/websocket/frame.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace herald::net::websocket {

/// Reads the frames of one client connection from whatever pieces the
/// socket hands over, unmasking payloads in place. It keeps the header of
/// the frame being read and the payload of a control frame (at most 125
/// bytes); a data message's payload goes to the handler as it comes, so a
/// connection costs the same whatever its messages' size.
///
/// Checked here (RFC 6455 §5): client frames are masked; no reserved bits
/// (no extension is negotiated); known opcodes only; control frames are
/// whole and at most 125 bytes; lengths in their shortest form;
/// continuations only inside a message and no new message inside one; a
/// message's total size against the limit.
class frame_parser {
public:
  class handler {
  public:
    /// A piece of a text or binary message's payload, unmasked.
    virtual void on_data(opcode kind, std::string_view piece) = 0;
    /// The message whose pieces came is complete.
    virtual void on_message_end(opcode kind) = 0;
    /// A whole ping, pong or close frame (they may arrive between the
    /// frames of a fragmented message).
    virtual void on_control(opcode kind, std::string_view payload) = 0;

  protected:
    ~handler() = default;
  };

  /// `max_message_bytes` is capped at 4 GiB - 1.
  explicit frame_parser(uint64_t max_message_bytes)
    : max_message_bytes_(static_cast<uint32_t>(
        std::min<uint64_t>(max_message_bytes, UINT32_MAX))) {}

  /// Reads `size` bytes at `data` (they are unmasked in place). Returns
  /// the violation the connection must close with; after one, everything
  /// fed is ignored.
  std::optional<violation> feed(char* data, size_t size, handler& to);

private:
  /// Takes header bytes; true once the header is complete.
  bool take_header(char*& data, size_t& size);
  std::optional<violation> start_frame();
  void unmask(char* data, size_t size);
  void end_frame(handler& to);

  // Laid out by size: every connection holds one.
  /// The frame being read: its payload bytes still to come.
  uint64_t remaining_ = 0;
  /// A control frame's payload, gathered until the frame is complete;
  /// held only while one with a payload is being read.
  std::unique_ptr<std::string> control_;
  uint32_t max_message_bytes_;
  /// The data message in progress: its bytes so far (never over the max).
  uint32_t message_bytes_ = 0;
  /// The frame's header as far as it came, then its fields.
  std::array<unsigned char, 14> header_{};
  uint8_t header_have_ = 0;
  uint8_t mask_at_ = 0;
  std::array<unsigned char, 4> mask_{};
  opcode kind_ = opcode::continuation;
  /// The data message in progress (continuation frames belong to it).
  opcode message_ = opcode::continuation;
  bool in_payload_ = false;
  bool fin_ = false;
  bool failed_ = false;
};

} // namespace herald::net::websocket
