#pragma once

#include "histogram.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace herald::bench {

/// What one generator process has seen since the last reset; printed as a
/// JSON line for the orchestrator to add up across processes.
struct counters {
  uint64_t received = 0;   ///< messages that carried a send stamp
  uint64_t duplicates = 0; ///< herald.v1 seqs at or below the last (resends)
  uint64_t closes = 0;     ///< connections the server ended
  uint64_t errors = 0;     ///< connect/handshake failures, error frames
  uint64_t reconnects = 0;
  uint64_t published = 0;       ///< frames this process sent as a publisher
  int64_t first_arrival_us = 0; ///< wall clock of the first message
  int64_t last_arrival_us = 0;  ///< wall clock of the latest message
  histogram latency;
  std::string first_error; ///< what went wrong first, for the operator
  /// With `keep` on arrived(): (serial, wall clock) of every stamped
  /// message, for latencies measured from another process's moment (a
  /// writer's commit).
  std::vector<std::pair<int64_t, int64_t>> arrivals;

  void reset() { *this = counters{}; }

  /// A stamped message with serial `serial` arrived at `now_us`, `age_us`
  /// after it was sent; `keep` records it in `arrivals`.
  void arrived(int64_t now_us, int64_t age_us, int64_t serial, bool keep) {
    ++received;
    if (first_arrival_us == 0)
      first_arrival_us = now_us;
    last_arrival_us = now_us;
    latency.record(age_us);
    if (keep)
      arrivals.emplace_back(serial, now_us);
  }

  void error(const std::string& what) {
    ++errors;
    if (first_error.empty())
      for (char c : what) // kept printable inside a JSON string
        first_error += (c == '"' || c == '\\' || c < ' ') ? '\'' : c;
  }
};

} // namespace herald::bench
