#include "core/utf8.hpp"

#include <cstdint>

namespace herald::utf8 {

bool valid(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The length a lead byte announces, the bits it carries, and the
    // smallest code point that needs that length (anything less is an
    // overlong form, which decoders must refuse).
    size_t length = 0;
    uint32_t code = 0;
    uint32_t smallest = 0;
    if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code = lead & 0x1f;
      smallest = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code = lead & 0x0f;
      smallest = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code = lead & 0x07;
      smallest = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i < length)
      return false;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80)
        return false;
      code = code << 6 | (next & 0x3f);
    }
    if (code < smallest || code > 0x10ffff ||
        (code >= 0xd800 && code <= 0xdfff))
      return false;
    i += length;
  }
  return true;
}

std::string_view truncate(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes)
    return text;
  // Back off while the first byte left out continues a character.
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
    --cut;
  return text.substr(0, cut);
}

} // namespace herald::utf8
