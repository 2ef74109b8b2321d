// parse_iso_utc over any text: timestamps come back from the database as
// text and are read again to measure delivery latency.

#include "core/iso_time.hpp"
#include "fuzz_support.hpp"

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using herald::fuzz::check;
  const auto text = herald::fuzz::as_text(data, size);
  if (auto seconds = herald::parse_iso_utc(text)) {
    check(std::isfinite(*seconds), "parse_iso_utc: a finite number");
    check(!text.empty() && text.back() == 'Z', "parse_iso_utc: ends in Z");
  }
  return 0;
}
