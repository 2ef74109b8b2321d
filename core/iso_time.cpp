#include "core/iso_time.hpp"

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <tuple>
#include <utility>

namespace herald {

namespace {

// Days from 1970-01-01 to the given civil date (proleptic Gregorian), as
// timegm counts them; linear in the day, so a day past the month's end
// lands where timegm would put it.
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = y - era * 400;
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The digits at text[at, at + n) as a number, or -1.
int digits(std::string_view text, size_t at, size_t n) {
  int value = 0;
  for (size_t i = at; i < at + n; ++i) {
    auto c = text[i];
    if (c < '0' || c > '9')
      return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "YYYY-MM-DDTHH:MM:SS": what the engine's own timestamps look like, read
// without sscanf and timegm (a catch-up reads one per message: sscanf, its
// locale lookup and timegm's time zone conversion were 2 % of the engine's
// CPU). Anything else goes the general way.
std::optional<int64_t> fixed_seconds(std::string_view text) {
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':')
    return std::nullopt;
  int y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
  int h = digits(text, 11, 2), mi = digits(text, 14, 2);
  int s = digits(text, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
      mi < 0 || mi > 59 || s < 0 || s > 60)
    return std::nullopt;
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

// The general way: what sscanf takes (signs, spaces, short fields), with
// timegm's normalisation.
std::optional<std::pair<double, size_t>>
scanned_seconds(std::string_view text) {
  std::string s{text};
  std::tm tm{};
  int used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                  &used) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::make_pair(static_cast<double>(timegm(&tm)),
                        static_cast<size_t>(used));
}

} // namespace

std::optional<double> parse_iso_utc(std::string_view text) {
  double seconds = 0;
  size_t pos = 19;
  if (auto fixed = fixed_seconds(text)) {
    seconds = static_cast<double>(*fixed);
  } else if (auto scanned = scanned_seconds(text)) {
    std::tie(seconds, pos) = *scanned;
  } else {
    return std::nullopt;
  }
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    double scale = 0.1;
    for (++pos; pos < text.size() &&
                std::isdigit(static_cast<unsigned char>(text[pos]));
         ++pos) {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
    }
  }
  if (pos != text.size() - 1 || text[pos] != 'Z')
    return std::nullopt;
  return seconds + fraction;
}

double unix_seconds_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

} // namespace herald
