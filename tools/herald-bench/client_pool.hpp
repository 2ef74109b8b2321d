#pragma once

#include "connection.hpp"
#include "counters.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace herald::bench {

/// The connections of one generator process and the commands the
/// orchestrator sends it on stdin, one per line:
///   stats   print a JSON line of the counters since the last reset
///   reset   clear counters and latencies (the start of a measured window)
///   drop    drop every connection at once; print "resumed" when all are
///           back (herald.v1: welcomed after a hello with their last seq)
///   publish R S   (publisher processes) send R stamped frames/s for S s
///   quit    exit
/// and that it prints as events ("ready", "resumed", "published").
class client_pool {
public:
  struct config {
    connection_settings settings;
    std::vector<boost::asio::ip::address> sources;
    std::vector<std::string> targets; ///< one upgrade path per connection
    size_t max_pending = 256;         ///< handshakes in flight at once
  };

  client_pool(boost::asio::io_context& io, config cfg);

  void start();
  void command(const std::string& line);

private:
  void launch();
  void on_ready(size_t index);
  void on_down(size_t index, bool was_ready);
  void publish_tick();
  void print_stats();
  void print_arrivals();
  static int64_t now_ms();

  boost::asio::io_context& io_;
  config cfg_;
  counters stats_;
  std::vector<std::shared_ptr<client>> conns_;
  std::deque<size_t> waiting_; ///< to (re)connect, oldest first
  size_t pending_ = 0;         ///< connecting, not yet ready
  size_t ready_ = 0;
  bool announced_ = false; ///< "ready" printed for the current phase
  int64_t phase_start_ms_ = 0;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer publish_timer_;
  double publish_rate_ = 0;
  int64_t publish_start_us_ = 0;
  int64_t publish_end_us_ = 0;
  uint64_t publish_sent_ = 0;
  uint64_t publish_serial_ = 0;
};

} // namespace herald::bench
