#include "histogram.hpp"

#include <algorithm>

namespace herald::bench {

namespace {

// 100 buckets of 10 µs up to 1 ms, then 90 per decade up to 1000 s.
constexpr size_t first_decade = 100;
constexpr size_t per_decade = 90;
constexpr size_t decades = 6; // 1 ms .. 1000 s
constexpr size_t bucket_count = first_decade + per_decade * decades;

} // namespace

histogram::histogram() : counts_(bucket_count, 0) {}

size_t histogram::bucket_of(int64_t micros) {
  if (micros < 0)
    micros = 0; // clocks of one machine; a tiny negative is rounding
  if (micros < 1000)
    return static_cast<size_t>(micros / 10);
  int64_t step = 100; // bucket width in the decade [1 ms, 10 ms)
  int64_t low = 1000;
  for (size_t d = 0; d < decades; ++d, step *= 10, low *= 10) {
    if (micros < low * 10)
      return first_decade + d * per_decade +
             static_cast<size_t>((micros - low) / step);
  }
  return bucket_count - 1;
}

int64_t histogram::upper_bound(size_t bucket) {
  if (bucket < first_decade)
    return static_cast<int64_t>(bucket + 1) * 10;
  bucket -= first_decade;
  int64_t step = 100;
  int64_t low = 1000;
  for (size_t d = 0; d < bucket / per_decade; ++d) {
    step *= 10;
    low *= 10;
  }
  return low + static_cast<int64_t>(bucket % per_decade + 1) * step;
}

void histogram::record(int64_t micros) {
  ++counts_[bucket_of(micros)];
  ++count_;
  max_ = std::max(max_, micros);
}

void histogram::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  max_ = 0;
}

int64_t histogram::quantile(double q) const {
  if (count_ == 0)
    return 0;
  auto rank = static_cast<uint64_t>(q * static_cast<double>(count_));
  if (rank >= count_)
    rank = count_ - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen > rank)
      return std::min(upper_bound(i), max_);
  }
  return max_;
}

std::string histogram::to_json() const {
  std::string out = R"({"unit":"us","bounds":[)";
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (i)
      out += ',';
    out += std::to_string(upper_bound(i));
  }
  out += R"(],"counts":[)";
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (i)
      out += ',';
    out += std::to_string(counts_[i]);
  }
  out += R"(],"max":)" + std::to_string(max_) + R"(,"count":)" +
         std::to_string(count_) + "}";
  return out;
}

} // namespace herald::bench
