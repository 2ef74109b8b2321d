#pragma once

// The server's half of the WebSocket opening handshake (RFC 6455 §4.2),
// on strings: the HTTP layer has checked that the request is an upgrade.

#include <optional>
#include <string>
#include <string_view>

namespace herald::net::websocket {

/// The one protocol version there is.
inline constexpr std::string_view version = "13";

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key, or nullopt when
/// the key is not 16 bytes in base64.
std::optional<std::string> accept_for(std::string_view key);

/// The 101 answer that completes the upgrade, with the subprotocol chosen.
std::string switching_protocols(std::string_view accept,
                                std::string_view subprotocol);

} // namespace herald::net::websocket
