// User tokens as any client may send them: verify_hs256, peek_audience and
// the base64url codec. A fuzzer cannot forge HMACs, so each input is also
// re-signed with the test secret to reach the claim checks behind the
// signature.

#include "core/jwt.hpp"
#include "fuzz_support.hpp"

#include <algorithm>

namespace {

using namespace herald;
using herald::fuzz::check;

constexpr std::string_view secret = "fuzz-secret";
constexpr std::string_view audience = "shop";
constexpr int64_t now = 1'700'000'000;

// What a successful verification promises its callers (net/auth.cpp).
void check_claims(const std::variant<jwt::claims, jwt::error>& result,
                  int64_t leeway) {
  auto claims = std::get_if<jwt::claims>(&result);
  if (claims == nullptr) {
    check(std::string_view{jwt::to_string(std::get<jwt::error>(result))} !=
            "unknown",
          "verify_hs256: a known error");
    return;
  }
  check(!claims->sub.empty(), "claims: sub non-empty");
  check(std::find(claims->aud.begin(), claims->aud.end(), audience) !=
          claims->aud.end(),
        "claims: aud names the audience");
  const auto slack = std::max<int64_t>(leeway, 0);
  check(claims->exp > now - slack, "claims: not expired");
  check(!claims->nbf || *claims->nbf <= now + slack, "claims: not before nbf");
}

void check_base64(std::string_view text) {
  // Any bytes survive a round trip.
  auto back = jwt::base64url_decode(jwt::base64url_encode(text));
  check(back && *back == text, "base64url: decode(encode(x)) == x");
  // Accepted text has exactly one spelling: the unpadded encoding, or that
  // with the padding RFC 4648 asks for.
  if (auto bytes = jwt::base64url_decode(text)) {
    auto canonical = jwt::base64url_encode(*bytes);
    auto unpadded = text;
    while (!unpadded.empty() && unpadded.back() == '=')
      unpadded.remove_suffix(1);
    check(canonical == unpadded, "base64url: one spelling per byte string");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto token = fuzz::as_text(data, size);
  // The leeway varies with the input so that negative ones are tried too.
  const int64_t leeway = static_cast<int64_t>(size % 7) - 3;

  (void)jwt::peek_audience(token);
  check_claims(jwt::verify_hs256(token, secret, audience, now, leeway), leeway);
  check_base64(token);

  const auto last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos)
    return 0;
  std::string resigned{token.substr(0, last_dot)};
  const auto signature =
    jwt::base64url_encode(jwt::hmac_sha256(secret, resigned));
  resigned += '.';
  resigned += signature;
  check_claims(jwt::verify_hs256(resigned, secret, audience, now, leeway),
               leeway);
  // The same token must fail under any other secret, and with none.
  check(!std::holds_alternative<jwt::claims>(
          jwt::verify_hs256(resigned, "other-secret", audience, now, leeway)),
        "verify_hs256: another secret never verifies");
  check(!std::holds_alternative<jwt::claims>(
          jwt::verify_hs256(resigned, "", audience, now, leeway)),
        "verify_hs256: an empty secret never verifies");
  return 0;
}
