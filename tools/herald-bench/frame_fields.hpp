#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace herald::bench {

/// The integer after `"key":` in a JSON text, without parsing the rest: at
/// hundreds of thousands of frames a second a full JSON parse in the
/// generator would take the CPU the engine is being measured with. The keys
/// it is used for (`seq`, `bench_t`, `bench_n`) appear once per frame.
inline std::optional<int64_t> int_field(std::string_view text,
                                        std::string_view quoted_key) {
  auto at = text.find(quoted_key);
  if (at == std::string_view::npos)
    return std::nullopt;
  at += quoted_key.size();
  while (at < text.size() && (text[at] == ' ' || text[at] == ':'))
    ++at;
  bool negative = at < text.size() && text[at] == '-';
  if (negative)
    ++at;
  if (at >= text.size() || text[at] < '0' || text[at] > '9')
    return std::nullopt;
  int64_t value = 0;
  for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at)
    value = value * 10 + (text[at] - '0');
  return negative ? -value : value;
}

/// Wall-clock microseconds: publishers and receivers are separate processes
/// on one machine, so they share CLOCK_REALTIME and nothing finer.
inline int64_t now_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace herald::bench
