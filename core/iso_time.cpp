#include "core/iso_time.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace herald {

std::optional<double> parse_iso_utc(std::string_view text) {
  std::string s{text};
  std::tm tm{};
  int used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                  &used) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double fraction = 0;
  size_t pos = static_cast<size_t>(used);
  if (pos < s.size() && s[pos] == '.') {
    double scale = 0.1;
    for (++pos;
         pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]));
         ++pos) {
      fraction += (s[pos] - '0') * scale;
      scale /= 10;
    }
  }
  if (pos != s.size() - 1 || s[pos] != 'Z')
    return std::nullopt;
  return static_cast<double>(timegm(&tm)) + fraction;
}

double unix_seconds_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

} // namespace herald
