#include "net/websocket/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>

namespace herald::net::websocket {

namespace {

constexpr std::string_view key_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

} // namespace

std::optional<std::string> accept_for(std::string_view key) {
  // 16 bytes are 24 characters of base64, the last two padding.
  if (key.size() != 24 || key.substr(22) != "==")
    return std::nullopt;
  std::array<unsigned char, 18> decoded{};
  if (EVP_DecodeBlock(decoded.data(),
                      reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) != 18)
    return std::nullopt;
  std::string keyed{key};
  keyed.append(key_guid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(keyed.data()), keyed.size(),
       digest.data());
  std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> encoded{};
  auto size = EVP_EncodeBlock(encoded.data(), digest.data(), SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded.data()),
                     static_cast<size_t>(size));
}

std::string switching_protocols(std::string_view accept,
                                std::string_view subprotocol) {
  std::string answer = "HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Server: herald\r\n"
                       "Sec-WebSocket-Accept: ";
  answer.append(accept);
  answer.append("\r\nSec-WebSocket-Protocol: ");
  answer.append(subprotocol);
  answer.append("\r\n\r\n");
  return answer;
}

} // namespace herald::net::websocket
