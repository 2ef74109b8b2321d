#include "net/websocket/frame_parser.hpp"

#include <algorithm>
#include <utility>

namespace herald::net::websocket {

namespace {

bool is_control(opcode kind) {
  return (static_cast<uint8_t>(kind) & 0x8) != 0;
}

bool is_known(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

/// How long the header is, as far as its first two bytes tell.
size_t header_length(const std::array<unsigned char, 14>& header, size_t have) {
  if (have < 2)
    return 2;
  size_t length = 2;
  auto short_length = header[1] & 0x7f;
  if (short_length == 126)
    length += 2;
  else if (short_length == 127)
    length += 8;
  if (header[1] & 0x80)
    length += 4;
  return length;
}

} // namespace

std::optional<violation> frame_parser::feed(char* data, size_t size,
                                            handler& to) {
  if (failed_)
    return std::nullopt;
  for (;;) {
    if (!in_payload_) {
      if (!take_header(data, size))
        return std::nullopt;
      if (auto broken = start_frame()) {
        failed_ = true;
        return broken;
      }
      in_payload_ = true;
    }
    auto count = static_cast<size_t>(std::min<uint64_t>(size, remaining_));
    if (count > 0) {
      unmask(data, count);
      if (is_control(kind_)) {
        if (!control_)
          control_ = std::make_unique<std::string>();
        control_->append(data, count);
      } else
        to.on_data(message_, {data, count});
      data += count;
      size -= count;
      remaining_ -= count;
    }
    if (remaining_ > 0)
      return std::nullopt;
    end_frame(to);
    if (size == 0)
      return std::nullopt;
  }
}

bool frame_parser::take_header(char*& data, size_t& size) {
  for (;;) {
    auto wanted = header_length(header_, header_have_);
    if (header_have_ >= wanted)
      return true;
    if (size == 0)
      return false;
    header_[header_have_++] = static_cast<unsigned char>(*data++);
    --size;
  }
}

std::optional<violation> frame_parser::start_frame() {
  auto first = header_[0];
  auto second = header_[1];
  fin_ = (first & 0x80) != 0;
  if (first & 0x70)
    return violation{close_protocol_error,
                     "reserved bits are set, and no extension was agreed"};
  auto op = static_cast<uint8_t>(first & 0x0f);
  if (!is_known(op))
    return violation{close_protocol_error, "an unknown opcode"};
  if (!(second & 0x80))
    return violation{close_protocol_error, "client frames must be masked"};
  uint64_t length = second & 0x7f;
  size_t at = 2;
  if (length == 126) {
    length = (uint64_t{header_[2]} << 8) | header_[3];
    at = 4;
    if (length < 126)
      return violation{close_protocol_error,
                       "a length not in its shortest form"};
  } else if (length == 127) {
    length = 0;
    for (size_t i = 2; i < 10; ++i)
      length = (length << 8) | header_[i];
    at = 10;
    if (length >> 63)
      return violation{close_protocol_error, "a length of 2^63 or more"};
    if (length < 65536)
      return violation{close_protocol_error,
                       "a length not in its shortest form"};
  }
  std::copy_n(header_.begin() + at, 4, mask_.begin());
  mask_at_ = 0;
  kind_ = static_cast<opcode>(op);
  if (is_control(kind_)) {
    if (!fin_)
      return violation{close_protocol_error,
                       "a control frame must not be fragmented"};
    if (length > 125)
      return violation{close_protocol_error, "a control frame over 125 bytes"};
    control_.reset();
  } else if (kind_ == opcode::continuation) {
    if (message_ == opcode::continuation)
      return violation{close_protocol_error,
                       "a continuation frame outside a message"};
  } else {
    if (message_ != opcode::continuation)
      return violation{close_protocol_error,
                       "a new message before the last one ended"};
    message_ = kind_;
    message_bytes_ = 0;
  }
  if (!is_control(kind_)) {
    if (length > max_message_bytes_ - message_bytes_)
      return violation{close_message_too_big,
                       "the message is over the size limit"};
    message_bytes_ += static_cast<uint32_t>(length); // within the max
  }
  remaining_ = length;
  return std::nullopt;
}

void frame_parser::unmask(char* data, size_t size) {
  for (size_t i = 0; i < size; ++i)
    data[i] = static_cast<char>(static_cast<unsigned char>(data[i]) ^
                                mask_[(mask_at_ + i) & 3]);
  mask_at_ = static_cast<uint8_t>((mask_at_ + size) & 3);
}

void frame_parser::end_frame(handler& to) {
  header_have_ = 0;
  in_payload_ = false;
  if (is_control(kind_)) {
    // Taken out first: the handler may feed nothing more, but must not
    // see the buffer change under it either.
    auto payload = std::move(control_);
    to.on_control(kind_,
                  payload ? std::string_view{*payload} : std::string_view{});
    return;
  }
  if (!fin_)
    return;
  auto kind = std::exchange(message_, opcode::continuation);
  message_bytes_ = 0;
  to.on_message_end(kind);
}

} // namespace herald::net::websocket
