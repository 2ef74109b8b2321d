#define CAF_SUITE core.utf8

#include "core/utf8.hpp"

#include <caf/test/unit_test.hpp>

#include <string>

using namespace herald;

CAF_TEST(well formed text is valid) {
  for (const auto& text : std::initializer_list<std::string>{
         "", "plain ascii", "caf\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80",
         std::string("nul \0 inside", 12), "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"})
    CAF_CHECK(utf8::valid(text));
}

CAF_TEST(malformed text is refused) {
  for (const char* text : {"\x80",     // a continuation byte alone
                           "\xc3",     // a sequence cut short
                           "\xc3(",    // a lead byte without its continuation
                           "\xc0\xaf", // an overlong '/'
                           "\xe0\x80\xaf",         // the same, three bytes long
                           "\xed\xa0\x80",         // a UTF-16 surrogate
                           "\xf4\x90\x80\x80",     // past U+10FFFF
                           "\xf8\x88\x80\x80\x80", // five-byte forms are gone
                           "\xff", "ok\xfe"})
    CAF_CHECK(!utf8::valid(text));
}

CAF_TEST(truncate never splits a character) {
  const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; // aé€😀
  CAF_CHECK_EQUAL(utf8::truncate(text, 100), text);
  CAF_CHECK_EQUAL(utf8::truncate(text, text.size()), text);
  CAF_CHECK_EQUAL(utf8::truncate(text, 0), "");
  CAF_CHECK_EQUAL(utf8::truncate(text, 1), "a");
  CAF_CHECK_EQUAL(utf8::truncate(text, 2), "a");
  CAF_CHECK_EQUAL(utf8::truncate(text, 3), "a\xc3\xa9");
  CAF_CHECK_EQUAL(utf8::truncate(text, 5), "a\xc3\xa9");
  CAF_CHECK_EQUAL(utf8::truncate(text, 6), "a\xc3\xa9\xe2\x82\xac");
  CAF_CHECK_EQUAL(utf8::truncate(text, 9), "a\xc3\xa9\xe2\x82\xac");
  for (size_t max = 0; max <= text.size(); ++max)
    CAF_CHECK(utf8::valid(utf8::truncate(text, max)));
}
