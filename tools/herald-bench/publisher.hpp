#pragma once

#include <string>
#include <vector>

namespace herald::bench {

/// Writers that commit stamped messages into PostgreSQL at a set rate, one
/// statement (so one transaction) per message, as a producer's own code
/// would: either herald.publish or, for peers, a bare pg_notify.
struct publisher_config {
  std::string database_url;
  bool herald = true;               ///< false: pg_notify(channel, payload)
  std::string app = "bench";        ///< herald.publish app
  std::string tmpl = "note";        ///< herald.publish template
  std::string channel = "bench";    ///< pg_notify channel
  std::vector<std::string> targets; ///< round robin, e.g. "user:u3"
  double rate = 100;                ///< messages per second, all writers
  double seconds = 5;
  int writers = 1; ///< connections, each its own thread
};

/// Runs the writers and prints one JSON line: count, seconds, the rate
/// reached and the latency of the publishing statements.
int run_publisher(const publisher_config& cfg);

} // namespace herald::bench
