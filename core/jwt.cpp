#include "core/jwt.hpp"

#include <array>
#include <climits>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace herald::jwt {

namespace {

using json = nlohmann::json;

constexpr char alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// base64url of {"alg":"HS256","typ":"JWT"}: the one header we ever sign.
constexpr std::string_view signed_header =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table)
    entry = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return table;
}

constexpr auto decode_table = make_decode_table();

struct parts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  /// "header.payload": the bytes the signature covers.
  std::string_view signing_input;
};

std::optional<parts> split(std::string_view token) {
  const auto first = token.find('.');
  if (first == std::string_view::npos)
    return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos ||
      token.find('.', second + 1) != std::string_view::npos)
    return std::nullopt;
  return parts{token.substr(0, first),
               token.substr(first + 1, second - first - 1),
               token.substr(second + 1), token.substr(0, second)};
}

std::optional<json> decode_object(std::string_view part) {
  auto text = base64url_decode(part);
  if (!text)
    return std::nullopt;
  auto value = json::parse(*text, nullptr, false);
  if (value.is_discarded() || !value.is_object())
    return std::nullopt;
  return value;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char ch) {
      return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
    };
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

// Rounding a fractional date the safe way: an expiry earlier, a start later.
enum class rounding { down, up };

// False when the claim is present but not a NumericDate we can represent.
bool read_date(const json& payload, const char* key, rounding mode,
               std::optional<int64_t>& out) {
  auto it = payload.find(key);
  if (it == payload.end())
    return true;
  if (it->is_number_integer() && !it->is_number_unsigned()) {
    out = it->get<int64_t>();
    return true;
  }
  if (it->is_number_unsigned()) {
    auto value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return false;
    out = static_cast<int64_t>(value);
    return true;
  }
  if (it->is_number_float()) {
    auto value = it->get<double>();
    value = mode == rounding::down ? std::floor(value) : std::ceil(value);
    // 2^63 is the first double past int64_t; NaN fails both comparisons.
    constexpr double limit = 9223372036854775808.0;
    if (!(value >= -limit && value < limit))
      return false;
    out = static_cast<int64_t>(value);
    return true;
  }
  return false;
}

// Dates near the ends of int64_t must not overflow into the past.
int64_t saturating_add(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b)
    return std::numeric_limits<int64_t>::max();
  return a + b;
}

} // namespace

const char* to_string(error e) {
  switch (e) {
    case error::malformed:
      return "malformed";
    case error::unsupported_alg:
      return "unsupported_alg";
    case error::bad_signature:
      return "bad_signature";
    case error::expired:
      return "expired";
    case error::not_yet_valid:
      return "not_yet_valid";
    case error::wrong_audience:
      return "wrong_audience";
    case error::missing_claim:
      return "missing_claim";
  }
  return "unknown";
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  auto byte = [&bytes](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out.push_back(alphabet[group >> 18 & 63]);
    out.push_back(alphabet[group >> 12 & 63]);
    out.push_back(alphabet[group >> 6 & 63]);
    out.push_back(alphabet[group & 63]);
  }
  if (const auto rest = bytes.size() - i; rest == 1) {
    const uint32_t group = byte(i) << 16;
    out.push_back(alphabet[group >> 18 & 63]);
    out.push_back(alphabet[group >> 12 & 63]);
  } else if (rest == 2) {
    const uint32_t group = byte(i) << 16 | byte(i + 1) << 8;
    out.push_back(alphabet[group >> 18 & 63]);
    out.push_back(alphabet[group >> 12 & 63]);
    out.push_back(alphabet[group >> 6 & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (!text.empty() && text.back() == '=') {
    if (text.size() % 4 != 0)
      return std::nullopt;
    text.remove_suffix(1);
    if (!text.empty() && text.back() == '=')
      text.remove_suffix(1);
  }
  // One leftover character carries only 6 bits: not even one byte.
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (char ch : text) {
    const auto value = decode_table[static_cast<unsigned char>(ch)];
    if (value < 0)
      return std::nullopt;
    bits = bits << 6 | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>(bits >> count & 0xff));
    }
  }
  // Otherwise a token could be re-spelled without changing its signature.
  if ((bits & ((1u << count) - 1)) != 0)
    return std::nullopt;
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  if (key.size() > static_cast<size_t>(INT_MAX))
    throw std::invalid_argument("hmac_sha256: key too long");
  // Some OpenSSL versions refuse a null key even with length 0.
  static const unsigned char empty = 0;
  const auto* key_ptr =
    key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           digest.data(), &size) == nullptr)
    throw std::runtime_error("hmac_sha256: HMAC failed");
  return std::string{reinterpret_cast<const char*>(digest.data()), size};
}

std::variant<claims, error> verify_hs256(std::string_view token,
                                         std::string_view secret,
                                         std::string_view audience,
                                         int64_t now_unix,
                                         int64_t leeway_seconds) {
  const auto p = split(token);
  if (!p)
    return error::malformed;
  const auto header = decode_object(p->header);
  if (!header)
    return error::malformed;
  // Exactly "HS256": accepting "none" or another algorithm chosen by the
  // token itself is the classic JWT forgery.
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() ||
      alg->get_ref<const std::string&>() != "HS256")
    return error::unsupported_alg;
  // RFC 7515 §4.1.9: "typ" is a media type, and those are case-insensitive.
  if (const auto typ = header->find("typ"); typ != header->end())
    if (!typ->is_string() ||
        !iequals(typ->get_ref<const std::string&>(), "JWT"))
      return error::malformed;
  // RFC 7515 §4.1.11: we understand no extensions, so we must refuse any.
  if (header->contains("crit"))
    return error::malformed;
  const auto signature = base64url_decode(p->signature);
  if (!signature)
    return error::malformed;
  // An app without a secret must not accept tokens anyone can make.
  if (secret.empty())
    return error::bad_signature;
  const auto expected = hmac_sha256(secret, p->signing_input);
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return error::bad_signature;
  // Only now is the payload the issuer's and worth parsing.
  const auto payload = decode_object(p->payload);
  if (!payload)
    return error::malformed;
  claims result;
  std::optional<int64_t> exp;
  if (!read_date(*payload, "exp", rounding::down, exp) ||
      !read_date(*payload, "nbf", rounding::up, result.nbf) ||
      !read_date(*payload, "iat", rounding::down, result.iat))
    return error::malformed;
  const auto sub = payload->find("sub");
  if (sub != payload->end()) {
    if (!sub->is_string())
      return error::malformed;
    result.sub = sub->get<std::string>();
  }
  const auto aud = payload->find("aud");
  if (aud != payload->end()) {
    if (aud->is_string()) {
      result.aud.push_back(aud->get<std::string>());
    } else if (aud->is_array()) {
      for (const auto& item : *aud) {
        if (!item.is_string())
          return error::malformed;
        result.aud.push_back(item.get<std::string>());
      }
    } else {
      return error::malformed;
    }
  }
  const auto leeway = leeway_seconds > 0 ? leeway_seconds : 0;
  if (!exp)
    return error::missing_claim;
  result.exp = *exp;
  if (now_unix >= saturating_add(result.exp, leeway))
    return error::expired;
  if (result.nbf && saturating_add(now_unix, leeway) < *result.nbf)
    return error::not_yet_valid;
  if (aud == payload->end())
    return error::missing_claim;
  bool for_us = false;
  for (const auto& name : result.aud)
    for_us = for_us || name == audience;
  if (!for_us)
    return error::wrong_audience;
  if (result.sub.empty())
    return error::missing_claim;
  return result;
}

std::optional<std::string> peek_audience(std::string_view token) {
  const auto p = split(token);
  if (!p)
    return std::nullopt;
  const auto payload = decode_object(p->payload);
  if (!payload)
    return std::nullopt;
  const auto aud = payload->find("aud");
  if (aud == payload->end())
    return std::nullopt;
  if (aud->is_string())
    return aud->get<std::string>();
  if (aud->is_array() && !aud->empty() && aud->front().is_string())
    return aud->front().get<std::string>();
  return std::nullopt;
}

std::string sign_hs256(const nlohmann::json& payload, std::string_view secret) {
  if (!payload.is_object())
    throw std::invalid_argument("sign_hs256: payload must be a JSON object");
  if (secret.empty())
    throw std::invalid_argument("sign_hs256: empty secret");
  std::string token{signed_header};
  token += '.';
  token += base64url_encode(payload.dump());
  const auto signature = hmac_sha256(secret, token);
  token += '.';
  token += base64url_encode(signature);
  return token;
}

} // namespace herald::jwt
