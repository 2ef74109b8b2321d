#pragma once

#include "client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace herald::bench {

struct counters;

/// What the generator speaks: herald.v1 (token, hello with last_seq,
/// cumulative acks, resume), plain WebSocket as broadcast peers offer it,
/// or Server-Sent Events (HTTP/1.0, so that the stream is not chunked).
enum class protocol { herald, plain_ws, sse };

/// Shared by every connection of one generator process.
struct connection_settings {
  protocol proto = protocol::herald;
  boost::asio::ip::tcp::endpoint server;
  std::string host; ///< Host header
  counters* stats = nullptr;
  /// Diagnostic: acknowledge every segment at once (TCP_QUICKACK), which
  /// hides a server's Nagle delays behind the client's delayed ACKs.
  bool quickack = false;
  /// Plain WebSocket fed by one publisher: its serial `bench_n` only grows,
  /// so a number not above the last one is a replay (Nchan resends its
  /// buffer on reconnect) and a jump is a loss.
  bool dedup = false;
  /// Keep (serial, arrival) of every stamped message in the counters, for
  /// the "arrivals" command.
  bool keep_arrivals = false;
  /// herald.v1: a cumulative ack goes out this long after the first message
  /// it covers, or at once when it covers `ack_every` messages, as
  /// herald.js does (0: after every message).
  std::chrono::milliseconds ack_delay{1000};
  size_t ack_every = 64;
  /// herald.v1: the seq every connection says it has in its first hello,
  /// as a client that was offline resumes (0: from the start).
  int64_t initial_seq = 0;
  /// Called once per (re)connection when it can receive: after welcome for
  /// herald.v1, after the handshake for plain WebSocket.
  std::function<void(size_t index)> on_ready;
  /// Called when a connection is down (error or server close) and should be
  /// started again by whoever paces connection attempts.
  std::function<void(size_t index, bool was_ready)> on_down;
};

/// Counts a stamped payload of a plain peer (WebSocket frame or SSE data):
/// latency, and with settings.dedup replays told apart by their serial.
void record_plain(std::string_view payload, const connection_settings& settings,
                  int64_t& last);

/// One client WebSocket bound to a chosen 127.0.0.x source address, so that
/// many of them together pass the ~28k ephemeral ports of one address.
class connection : public client,
                   public std::enable_shared_from_this<connection> {
public:
  connection(boost::asio::io_context& io, const connection_settings& settings,
             size_t index, boost::asio::ip::address source, std::string target);

  void start() override;
  void drop() override;
  void send(std::string frame) override;

  int64_t last_seq() const override { return last_seq_; }
  bool ready() const override { return ready_; }

private:
  using stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  void on_connect(uint64_t gen, boost::beast::error_code ec);
  void on_handshake(uint64_t gen, boost::beast::error_code ec);
  void read();
  void on_read(uint64_t gen, boost::beast::error_code ec);
  void handle_frame(std::string_view frame);
  void write_next();
  void ack_soon();
  void fail();

  boost::asio::io_context& io_;
  const connection_settings& settings_;
  size_t index_;
  boost::asio::ip::address source_;
  std::string target_; ///< path and query of the upgrade request
  // A fresh stream per attempt: handlers of a dropped one may still be
  // queued, so they hold it alive and check the generation before acting.
  std::shared_ptr<stream> ws_;
  uint64_t generation_ = 0;
  boost::beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool ready_ = false;
  bool down_ = false;
  int64_t last_seq_ = 0;
  int64_t acked_ = 0;
  size_t unacked_ = 0; ///< messages read since the last ack
  bool ack_due_ = false;
  boost::asio::steady_timer ack_timer_;
};

} // namespace herald::bench
