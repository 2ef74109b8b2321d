#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace herald::bench {

/// Latency counts in log-linear microsecond buckets: 10 µs steps below
/// 1 ms, then 100 µs, 1 ms, 10 ms, ... per decade (90 buckets each), so
/// any value is kept within 10 % and several processes' histograms merge by
/// adding their arrays (the orchestrator does that).
class histogram {
public:
  histogram();

  void record(int64_t micros);
  void clear();

  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }

  /// The upper bound of the bucket holding quantile q (0..1), in µs.
  int64_t quantile(double q) const;

  /// {"unit":"us","bounds":[...],"counts":[...],"max":M,"count":C}; the
  /// bounds are every bucket's upper edge, so readers need no code of ours.
  std::string to_json() const;

  static int64_t upper_bound(size_t bucket);
  static size_t bucket_of(int64_t micros);

private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

} // namespace herald::bench
