#define CAF_SUITE core.iso_time

#include "core/iso_time.hpp"

#include <caf/test/dsl.hpp>

#include <cstdio>
#include <ctime>

using namespace herald;

namespace {

// What timegm makes of the fields: the reference the parser must match.
double by_timegm(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<double>(timegm(&tm));
}

std::string iso(int y, int mo, int d, int h, int mi, int s) {
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d,
                h, mi, s);
  return text;
}

} // namespace

CAF_TEST(timestamps as the engine writes them) {
  CAF_CHECK_EQUAL(parse_iso_utc("1970-01-01T00:00:00Z"), 0.0);
  CAF_CHECK_EQUAL(parse_iso_utc("2026-11-22T04:41:00Z"), 1795322460.0);
  auto with_ms = parse_iso_utc("2026-11-22T04:41:00.707Z");
  CAF_REQUIRE(with_ms.has_value());
  CAF_CHECK(*with_ms > 1795322460.706 && *with_ms < 1795322460.708);
}

CAF_TEST(every month and leap day agrees with timegm) {
  for (int y : {1969, 1970, 1999, 2000, 2024, 2026, 2100, 2400})
    for (int mo = 1; mo <= 12; ++mo)
      for (int d : {1, 15, 28, 29, 30, 31})
        for (int h : {0, 13, 23}) {
          auto text = iso(y, mo, d, h, 59, 60);
          CAF_CHECK_EQUAL(parse_iso_utc(text), by_timegm(y, mo, d, h, 59, 60));
        }
}

CAF_TEST(anything else is not a timestamp) {
  for (const char* text :
       {"", "Z", "2026-11-22T04:41:00", "2026-11-22 04:41:00Z",
        "2026-11-22T04:41:00+01", "2026-11-22T04:41:00.5", "yesterday",
        "2026-11-22T04:41:00Zx"})
    CAF_CHECK(!parse_iso_utc(text).has_value());
}

CAF_TEST(short fields are still read as before) {
  // Not what the engine writes, but what the general reading accepts.
  CAF_CHECK_EQUAL(parse_iso_utc("2026-1-2T3:4:5Z"),
                  by_timegm(2026, 1, 2, 3, 4, 5));
  CAF_CHECK_EQUAL(parse_iso_utc("2026-13-01T00:00:00Z"),
                  by_timegm(2026, 13, 1, 0, 0, 0));
}
