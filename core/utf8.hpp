#pragma once

#include <cstddef>
#include <string_view>

/// UTF-8 checks for text that reaches JSON output or WebSocket close
/// reasons, both of which must be well-formed UTF-8.
namespace herald::utf8 {

/// True when `text` is well-formed UTF-8 (RFC 3629): no stray continuation
/// bytes, truncated sequences, overlong forms, surrogates or code points
/// past U+10FFFF.
bool valid(std::string_view text);

/// The longest prefix of `text` of at most `max_bytes` that does not end
/// inside a multi-byte character, so that cutting valid text keeps it valid.
std::string_view truncate(std::string_view text, size_t max_bytes);

} // namespace herald::utf8
