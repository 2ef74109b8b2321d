#define CAF_SUITE core.jwt

#include "core/jwt.hpp"

#include <caf/test/unit_test.hpp>

#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

using namespace herald;

namespace {

using strings = std::vector<std::string>;
using result = std::variant<jwt::claims, jwt::error>;

// Test vectors made independently with Python's hmac, hashlib, base64 and
// json modules (json.dumps with separators=(",", ":")), so that this suite
// checks our code against another implementation, not against itself.

/// Header {"alg":"HS256","typ":"JWT"}, payload {"sub":"user-42","aud":"shop",
/// "exp":1700003600,"iat":1700000000}, secret python_secret.
constexpr const char* python_token =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
  "eyJzdWIiOiJ1c2VyLTQyIiwiYXVkIjoic2hvcCIsImV4cCI6MTcwMDAwMzYwMCwiaWF0Ij"
  "oxNzAwMDAwMDAwfQ."
  "hXtQ9oarJUYjBAH2mCqRQs0dir8JwA2MMyXBO2QHgcM";
constexpr const char* python_secret = "herald-test-secret";

/// Header {"typ":"JWT","alg":"HS256"}, payload {"sub":"u\u00e9","aud":
/// ["other","shop"],"exp":1700003600,"nbf":1700000000}, secret "s\u00e9cret"
/// (UTF-8).
constexpr const char* python_token_2 =
  "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
  "eyJzdWIiOiJ1XHUwMGU5IiwiYXVkIjpbIm90aGVyIiwic2hvcCJdLCJleHAiOjE3MDAwMDM2"
  "MDAsIm5iZiI6MTcwMDAwMDAwMH0."
  "39j2BfmOWN4lEF_3xTiryAwUcTRr8uXpuC5iUgoZMSY";
constexpr const char* python_secret_2 = "s\xc3\xa9"
                                        "cret";

/// The same claims as python_token with sorted keys (json.dumps(...,
/// sort_keys=True)), which is what nlohmann::json writes: sign_hs256 must
/// produce exactly this.
constexpr const char* python_sorted_token =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
  "eyJhdWQiOiJzaG9wIiwiZXhwIjoxNzAwMDAzNjAwLCJpYXQiOjE3MDAwMDAwMDAsInN1YiI6"
  "InVzZXItNDIifQ."
  "ToVv3yWk7O3VxKqJZLlCxYJ6nWw6SFiAKmsMvr1khP8";

constexpr int64_t exp_time = 1700003600;
constexpr int64_t now = 1700001000;

struct fixture {
  std::string secret = python_secret;

  /// A token over the given JSON texts, signed with `secret`, whatever the
  /// header says: lets tests reach the checks after the signature.
  std::string make(const std::string& header,
                   const std::string& payload) const {
    auto input =
      jwt::base64url_encode(header) + "." + jwt::base64url_encode(payload);
    return input + "." + jwt::base64url_encode(jwt::hmac_sha256(secret, input));
  }

  std::string with_payload(const nlohmann::json& payload) const {
    return make(R"({"alg":"HS256","typ":"JWT"})", payload.dump());
  }

  static nlohmann::json valid_payload() {
    return {{"sub", "user-42"}, {"aud", "shop"}, {"exp", exp_time}};
  }

  /// "ok" or the error's name.
  static std::string outcome(const result& r) {
    if (auto err = std::get_if<jwt::error>(&r))
      return jwt::to_string(*err);
    return "ok";
  }

  std::string check(const std::string& token, int64_t at = now,
                    int64_t leeway = 0,
                    std::string_view audience = "shop") const {
    return outcome(jwt::verify_hs256(token, secret, audience, at, leeway));
  }

  jwt::claims claims_of(const std::string& token, int64_t at = now) const {
    auto r = jwt::verify_hs256(token, secret, "shop", at);
    auto* c = std::get_if<jwt::claims>(&r);
    if (c == nullptr)
      CAF_FAIL("verify failed: " << outcome(r));
    return *c;
  }

  /// `token` with its part `index` (0, 1 or 2) replaced.
  static std::string replace_part(const std::string& token, size_t index,
                                  const std::string& part) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
      auto dot = token.find('.', start);
      parts.push_back(token.substr(start, dot - start));
      if (dot == std::string::npos)
        break;
      start = dot + 1;
    }
    parts.at(index) = part;
    return parts[0] + "." + parts[1] + "." + parts[2];
  }

  static std::string part(const std::string& token, size_t index) {
    size_t start = 0;
    for (size_t i = 0; i < index; ++i)
      start = token.find('.', start) + 1;
    return token.substr(start, token.find('.', start) - start);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(jwt_tests, fixture)

CAF_TEST(base64url follows rfc 4648) {
  // RFC 4648 §10 vectors (base64 and base64url agree on them).
  const strings plain{"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const strings coded{"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  for (size_t i = 0; i < plain.size(); ++i) {
    CAF_CHECK_EQUAL(jwt::base64url_encode(plain[i]), coded[i]);
    auto decoded = jwt::base64url_decode(coded[i]);
    CAF_REQUIRE(decoded.has_value());
    CAF_CHECK_EQUAL(*decoded, plain[i]);
  }
  // The url-safe alphabet, not + and /.
  CAF_CHECK_EQUAL(jwt::base64url_encode("\xfb\xff"), "-_8");
  auto binary = jwt::base64url_decode("-_8");
  CAF_REQUIRE(binary.has_value());
  CAF_CHECK_EQUAL(*binary, "\xfb\xff");
}

CAF_TEST(base64url accepts padding and refuses everything else) {
  auto padded = jwt::base64url_decode("Zg==");
  CAF_REQUIRE(padded.has_value());
  CAF_CHECK_EQUAL(*padded, "f");
  auto padded_2 = jwt::base64url_decode("Zm8=");
  CAF_REQUIRE(padded_2.has_value());
  CAF_CHECK_EQUAL(*padded_2, "fo");
  for (const char* bad : {"+_8", "/_8", "Zm 9v", "Zm9v.", "Z", "Zm9vY",
                          "Zg=", "Z===", "Zg=a", "=", "Zm9v\n"})
    CAF_CHECK(!jwt::base64url_decode(bad).has_value());
  // "Zh" decodes to "f" too if the unused low bits are ignored; a token
  // would then have several spellings of one signature.
  CAF_CHECK(!jwt::base64url_decode("Zh").has_value());
  CAF_CHECK(!jwt::base64url_decode("Zm9").has_value());
}

CAF_TEST(hmac sha256 matches python) {
  // base64url(hmac.new(b"key", b"The quick brown fox ...", sha256).digest())
  auto mac =
    jwt::hmac_sha256("key", "The quick brown fox jumps over the lazy dog");
  CAF_CHECK_EQUAL(mac.size(), 32u);
  CAF_CHECK_EQUAL(jwt::base64url_encode(mac),
                  "97yD9DBThCSxMpjmqm-xQ-9NWaFJRhdZl0edvC0aPNg");
}

CAF_TEST(a token made by python verifies) {
  auto c = claims_of(python_token);
  CAF_CHECK_EQUAL(c.sub, "user-42");
  CAF_CHECK_EQUAL(c.aud, strings{"shop"});
  CAF_CHECK_EQUAL(c.exp, exp_time);
  CAF_CHECK(!c.nbf.has_value());
  CAF_REQUIRE(c.iat.has_value());
  CAF_CHECK_EQUAL(*c.iat, 1700000000);
}

CAF_TEST(a python token with an audience array and utf8 verifies) {
  secret = python_secret_2;
  auto c = claims_of(python_token_2);
  CAF_CHECK_EQUAL(c.sub, "u\xc3\xa9");
  CAF_CHECK_EQUAL(c.aud, (strings{"other", "shop"}));
  CAF_REQUIRE(c.nbf.has_value());
  CAF_CHECK_EQUAL(*c.nbf, 1700000000);
  CAF_CHECK(!c.iat.has_value());
  CAF_CHECK_EQUAL(check(python_token_2, now, 0, "other"), "ok");
  CAF_CHECK_EQUAL(check(python_token_2, now, 0, "third"), "wrong_audience");
}

CAF_TEST(sign produces what python produces) {
  nlohmann::json payload{{"sub", "user-42"},
                         {"aud", "shop"},
                         {"exp", exp_time},
                         {"iat", 1700000000}};
  CAF_CHECK_EQUAL(jwt::sign_hs256(payload, python_secret), python_sorted_token);
  CAF_CHECK_EQUAL(check(python_sorted_token), "ok");
}

CAF_TEST(sign and verify round trip) {
  nlohmann::json payload{{"sub", "user-7"}, {"aud", {"a", "shop"}},
                         {"exp", exp_time}, {"nbf", now - 5},
                         {"iat", now - 10}, {"extra", {{"role", "admin"}}}};
  auto token = jwt::sign_hs256(payload, secret);
  CAF_CHECK_EQUAL(part(token, 0), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
  auto c = claims_of(token);
  CAF_CHECK_EQUAL(c.sub, "user-7");
  CAF_CHECK_EQUAL(c.aud, (strings{"a", "shop"}));
  CAF_CHECK_EQUAL(c.exp, exp_time);
  CAF_REQUIRE(c.nbf.has_value());
  CAF_CHECK_EQUAL(*c.nbf, now - 5);
  CAF_REQUIRE(c.iat.has_value());
  CAF_CHECK_EQUAL(*c.iat, now - 10);
}

CAF_TEST(sign refuses non objects and empty secrets) {
  auto throws = [](const nlohmann::json& payload, std::string_view key) {
    try {
      jwt::sign_hs256(payload, key);
    } catch (const std::invalid_argument&) {
      return true;
    }
    return false;
  };
  CAF_CHECK(throws(nlohmann::json::array({1, 2}), secret));
  CAF_CHECK(throws("sub", secret));
  CAF_CHECK(throws(valid_payload(), ""));
}

CAF_TEST(a tampered payload fails the signature) {
  auto forged = jwt::base64url_encode(
    R"({"sub":"admin","aud":"shop","exp":1700003600,"iat":1700000000})");
  CAF_CHECK_EQUAL(check(replace_part(python_token, 1, forged)),
                  "bad_signature");
  // Even a payload that is not JSON: the signature is checked first.
  CAF_CHECK_EQUAL(check(replace_part(python_token, 1, "bm90IGpzb24")),
                  "bad_signature");
}

CAF_TEST(a tampered signature fails) {
  std::string sig = part(python_token, 2);
  auto flipped = sig;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  CAF_CHECK_EQUAL(check(replace_part(python_token, 2, flipped)),
                  "bad_signature");
  // Too short (30 bytes), and no signature at all.
  CAF_CHECK_EQUAL(check(replace_part(python_token, 2, sig.substr(0, 40))),
                  "bad_signature");
  CAF_CHECK_EQUAL(check(replace_part(python_token, 2, "")), "bad_signature");
  // The last character 'M' has two unused bits; 'N' sets one of them.
  CAF_REQUIRE_EQUAL(sig.back(), 'M');
  auto respelled = sig;
  respelled.back() = 'N';
  CAF_CHECK_EQUAL(check(replace_part(python_token, 2, respelled)), "malformed");
  CAF_CHECK_EQUAL(check(replace_part(python_token, 2, sig + "AAAA")),
                  "bad_signature");
}

CAF_TEST(a wrong secret fails the signature) {
  secret = "another-secret";
  CAF_CHECK_EQUAL(check(python_token), "bad_signature");
  secret = "herald-test-secreT";
  CAF_CHECK_EQUAL(check(python_token), "bad_signature");
  // An app without a secret accepts nothing, not even an empty-key HMAC.
  secret = "";
  CAF_CHECK_EQUAL(check(with_payload(valid_payload())), "bad_signature");
}

CAF_TEST(alg none is unsupported) {
  auto header = jwt::base64url_encode(R"({"alg":"none","typ":"JWT"})");
  auto payload = jwt::base64url_encode(valid_payload().dump());
  CAF_CHECK_EQUAL(check(header + "." + payload + "."), "unsupported_alg");
  CAF_CHECK_EQUAL(check(make(R"({"alg":"none"})", valid_payload().dump())),
                  "unsupported_alg");
  // The signature of a real HS256 token does not make "none" acceptable.
  CAF_CHECK_EQUAL(check(replace_part(python_token, 0, header)),
                  "unsupported_alg");
}

CAF_TEST(other algorithms are unsupported) {
  const auto p = valid_payload().dump();
  CAF_CHECK_EQUAL(check(make(R"({"alg":"HS512","typ":"JWT"})", p)),
                  "unsupported_alg");
  CAF_CHECK_EQUAL(check(make(R"({"alg":"hs256","typ":"JWT"})", p)),
                  "unsupported_alg");
  CAF_CHECK_EQUAL(check(make(R"({"alg":"RS256"})", p)), "unsupported_alg");
  CAF_CHECK_EQUAL(check(make(R"({"alg":"HS256 "})", p)), "unsupported_alg");
  CAF_CHECK_EQUAL(check(make(R"({"typ":"JWT"})", p)), "unsupported_alg");
  CAF_CHECK_EQUAL(check(make(R"({"alg":["HS256"]})", p)), "unsupported_alg");
  CAF_CHECK_EQUAL(check(make(R"({"alg":"HS256"})", p)), "ok");
}

CAF_TEST(typ must be jwt and crit is refused) {
  const auto p = valid_payload().dump();
  CAF_CHECK_EQUAL(check(make(R"({"alg":"HS256","typ":"jwt"})", p)), "ok");
  CAF_CHECK_EQUAL(check(make(R"({"alg":"HS256","typ":"JOSE"})", p)),
                  "malformed");
  CAF_CHECK_EQUAL(check(make(R"({"alg":"HS256","typ":1})", p)), "malformed");
  CAF_CHECK_EQUAL(check(make(R"({"alg":"HS256","crit":["exp"]})", p)),
                  "malformed");
}

CAF_TEST(malformed tokens) {
  const auto h = part(python_token, 0);
  const auto p = part(python_token, 1);
  const auto s = part(python_token, 2);
  for (const auto& token :
       strings{"", ".", "..", "abc", h + "." + p, h + "." + p + "." + s + ".",
               h + "." + p + "." + s + "." + s})
    CAF_CHECK_EQUAL(check(token), "malformed");
  // Bad base64url in the header or the signature.
  CAF_CHECK_EQUAL(check("e30*." + p + "." + s), "malformed");
  CAF_CHECK_EQUAL(check(h + "." + p + ".abc+def"), "malformed");
  CAF_CHECK_EQUAL(check(" " + std::string{python_token}), "malformed");
  // A header that is not a JSON object.
  CAF_CHECK_EQUAL(check(make("not json", valid_payload().dump())), "malformed");
  CAF_CHECK_EQUAL(check(make(R"(["HS256"])", valid_payload().dump())),
                  "malformed");
  // Payloads that are signed but are not JSON objects.
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  CAF_CHECK_EQUAL(check(make(header, "not json")), "malformed");
  CAF_CHECK_EQUAL(check(make(header, R"(["user-42"])")), "malformed");
  CAF_CHECK_EQUAL(check(make(header, "\"user-42\"")), "malformed");
  CAF_CHECK_EQUAL(check(make(header, R"({"sub":"u")")), "malformed");
  // A payload part that is not base64url, with a valid signature over it.
  auto input = jwt::base64url_encode(header) + ".e30*";
  auto bad_payload =
    input + "." + jwt::base64url_encode(jwt::hmac_sha256(secret, input));
  CAF_CHECK_EQUAL(check(bad_payload), "malformed");
}

CAF_TEST(claims of the wrong type are malformed) {
  auto with = [this](const char* key, nlohmann::json value) {
    auto payload = valid_payload();
    payload[key] = std::move(value);
    return check(with_payload(payload));
  };
  CAF_CHECK_EQUAL(with("exp", "1700003600"), "malformed");
  CAF_CHECK_EQUAL(with("exp", nullptr), "malformed");
  CAF_CHECK_EQUAL(with("exp", 1e30), "malformed");
  CAF_CHECK_EQUAL(with("exp", std::numeric_limits<uint64_t>::max()),
                  "malformed");
  CAF_CHECK_EQUAL(with("nbf", true), "malformed");
  CAF_CHECK_EQUAL(with("iat", "yesterday"), "malformed");
  CAF_CHECK_EQUAL(with("sub", 42), "malformed");
  CAF_CHECK_EQUAL(with("aud", 7), "malformed");
  CAF_CHECK_EQUAL(with("aud", nlohmann::json::array({"shop", 7})), "malformed");
}

CAF_TEST(expiry) {
  const auto token = with_payload(valid_payload());
  CAF_CHECK_EQUAL(check(token, exp_time - 1), "ok");
  CAF_CHECK_EQUAL(check(token, exp_time), "expired");
  CAF_CHECK_EQUAL(check(token, exp_time + 1), "expired");
  // Leeway for clocks that disagree.
  CAF_CHECK_EQUAL(check(token, exp_time, 10), "ok");
  CAF_CHECK_EQUAL(check(token, exp_time + 9, 10), "ok");
  CAF_CHECK_EQUAL(check(token, exp_time + 10, 10), "expired");
  // A negative leeway does not shorten a token's life.
  CAF_CHECK_EQUAL(check(token, exp_time - 1, -100), "ok");
  CAF_CHECK_EQUAL(check(python_token, exp_time), "expired");
}

CAF_TEST(fractional and extreme dates) {
  auto payload = valid_payload();
  payload["exp"] = exp_time + 0.9;
  auto c = claims_of(with_payload(payload));
  CAF_CHECK_EQUAL(c.exp, exp_time);
  payload = valid_payload();
  payload["nbf"] = now + 0.1;
  CAF_CHECK_EQUAL(check(with_payload(payload)), "not_yet_valid");
  CAF_CHECK_EQUAL(check(with_payload(payload), now + 1), "ok");
  // exp + leeway must not wrap around into the past.
  payload = valid_payload();
  payload["exp"] = std::numeric_limits<int64_t>::max();
  CAF_CHECK_EQUAL(check(with_payload(payload), now, 60), "ok");
}

CAF_TEST(not before) {
  auto payload = valid_payload();
  payload["nbf"] = now + 100;
  const auto token = with_payload(payload);
  CAF_CHECK_EQUAL(check(token), "not_yet_valid");
  CAF_CHECK_EQUAL(check(token, now, 99), "not_yet_valid");
  CAF_CHECK_EQUAL(check(token, now, 100), "ok");
  CAF_CHECK_EQUAL(check(token, now + 100), "ok");
  // An expired token reports expiry first.
  CAF_CHECK_EQUAL(check(token, exp_time), "expired");
}

CAF_TEST(audience) {
  CAF_CHECK_EQUAL(check(python_token, now, 0, "other-app"), "wrong_audience");
  CAF_CHECK_EQUAL(check(python_token, now, 0, "Shop"), "wrong_audience");
  CAF_CHECK_EQUAL(check(python_token, now, 0, "sho"), "wrong_audience");
  auto payload = valid_payload();
  payload["aud"] = {"a", "shop", "b"};
  auto c = claims_of(with_payload(payload));
  CAF_CHECK_EQUAL(c.aud, (strings{"a", "shop", "b"}));
  payload["aud"] = {"a", "b"};
  CAF_CHECK_EQUAL(check(with_payload(payload)), "wrong_audience");
  payload["aud"] = nlohmann::json::array();
  CAF_CHECK_EQUAL(check(with_payload(payload)), "wrong_audience");
  payload.erase("aud");
  CAF_CHECK_EQUAL(check(with_payload(payload)), "missing_claim");
}

CAF_TEST(missing claims) {
  auto payload = valid_payload();
  payload.erase("sub");
  CAF_CHECK_EQUAL(check(with_payload(payload)), "missing_claim");
  payload["sub"] = "";
  CAF_CHECK_EQUAL(check(with_payload(payload)), "missing_claim");
  payload = valid_payload();
  payload.erase("exp");
  CAF_CHECK_EQUAL(check(with_payload(payload)), "missing_claim");
  CAF_CHECK_EQUAL(check(with_payload(nlohmann::json::object())),
                  "missing_claim");
}

CAF_TEST(peek audience reads without verifying) {
  auto aud = jwt::peek_audience(python_token);
  CAF_REQUIRE(aud.has_value());
  CAF_CHECK_EQUAL(*aud, "shop");
  // The first of an array; a bad signature does not matter here.
  auto first = jwt::peek_audience(python_token_2);
  CAF_REQUIRE(first.has_value());
  CAF_CHECK_EQUAL(*first, "other");
  auto forged = replace_part(python_token, 2, "AAAA");
  auto unverified = jwt::peek_audience(forged);
  CAF_REQUIRE(unverified.has_value());
  CAF_CHECK_EQUAL(*unverified, "shop");
  auto payload = valid_payload();
  payload.erase("aud");
  CAF_CHECK(!jwt::peek_audience(with_payload(payload)).has_value());
  payload["aud"] = nlohmann::json::array();
  CAF_CHECK(!jwt::peek_audience(with_payload(payload)).has_value());
  payload["aud"] = 7;
  CAF_CHECK(!jwt::peek_audience(with_payload(payload)).has_value());
  CAF_CHECK(!jwt::peek_audience("").has_value());
  CAF_CHECK(!jwt::peek_audience("a.b").has_value());
  CAF_CHECK(!jwt::peek_audience("e30.!!!.AAAA").has_value());
}

CAF_TEST(error names) {
  CAF_CHECK_EQUAL(std::string{jwt::to_string(jwt::error::malformed)},
                  "malformed");
  CAF_CHECK_EQUAL(std::string{jwt::to_string(jwt::error::unsupported_alg)},
                  "unsupported_alg");
  CAF_CHECK_EQUAL(std::string{jwt::to_string(jwt::error::bad_signature)},
                  "bad_signature");
  CAF_CHECK_EQUAL(std::string{jwt::to_string(jwt::error::expired)}, "expired");
  CAF_CHECK_EQUAL(std::string{jwt::to_string(jwt::error::not_yet_valid)},
                  "not_yet_valid");
  CAF_CHECK_EQUAL(std::string{jwt::to_string(jwt::error::wrong_audience)},
                  "wrong_audience");
  CAF_CHECK_EQUAL(std::string{jwt::to_string(jwt::error::missing_claim)},
                  "missing_claim");
}

CAF_TEST_FIXTURE_SCOPE_END()
