#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

/// HS256 JSON Web Tokens (RFC 7519) as the apps' backends mint them for
/// their users: sub = user, aud = app, exp.
namespace herald::jwt {

/// The claims of a verified token.
struct claims {
  /// The user; never empty.
  std::string sub;
  /// Every audience of the token ("aud" may be a string or an array).
  std::vector<std::string> aud;
  /// Expiry, seconds since the Unix epoch.
  int64_t exp = 0;
  /// Not before, seconds since the Unix epoch.
  std::optional<int64_t> nbf;
  /// Issued at, seconds since the Unix epoch.
  std::optional<int64_t> iat;
};

/// Why a token was refused.
enum class error {
  /// Not three base64url parts, a part that is not a JSON object, a claim of
  /// the wrong type, a "typ" other than "JWT" or a "crit" header.
  malformed,
  /// An "alg" other than exactly "HS256" (including "none"), or no "alg".
  unsupported_alg,
  /// The signature does not match the secret (or the secret is empty).
  bad_signature,
  /// now >= exp + leeway.
  expired,
  /// now + leeway < nbf.
  not_yet_valid,
  /// "aud" does not contain the expected audience.
  wrong_audience,
  /// No "exp", "aud" or "sub", or an empty "sub".
  missing_claim,
};

/// The enumerator's name: "malformed", "unsupported_alg", ...
const char* to_string(error e);

/// Verifies an HS256 token and returns its claims. The signature is checked
/// before the payload is even parsed; then exp, nbf, aud and sub in this
/// order. NumericDates may be fractional: exp rounds down, nbf up. A
/// negative leeway counts as 0.
std::variant<claims, error> verify_hs256(std::string_view token,
                                         std::string_view secret,
                                         std::string_view audience,
                                         int64_t now_unix,
                                         int64_t leeway_seconds = 0);

/// The "aud" of a token's payload WITHOUT verifying anything: use it only to
/// pick which app's secret to verify with. The first audience of an array.
std::optional<std::string> peek_audience(std::string_view token);

/// Signs `payload`, which must be a JSON object, as an HS256 token with the
/// header {"alg":"HS256","typ":"JWT"}. Throws std::invalid_argument when
/// the payload is not an object or the secret is empty.
std::string sign_hs256(const nlohmann::json& payload, std::string_view secret);

/// Base64url (RFC 4648 §5) without padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes base64url with or without padding; nullopt on any other
/// character, a bad length or non-zero unused bits (so that each byte string
/// has exactly one accepted spelling).
std::optional<std::string> base64url_decode(std::string_view text);

/// The raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

} // namespace herald::jwt
