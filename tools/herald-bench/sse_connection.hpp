#pragma once

#include "client.hpp"
#include "connection.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

namespace herald::bench {

/// One Server-Sent Events stream over HTTP/1.0 (a close-delimited body, so
/// no chunk framing to undo), bound to a chosen source address like the
/// WebSocket clients. Each `data:` line is one stamped payload.
class sse_connection : public client,
                       public std::enable_shared_from_this<sse_connection> {
public:
  sse_connection(boost::asio::io_context& io,
                 const connection_settings& settings, size_t index,
                 boost::asio::ip::address source, std::string target);

  void start() override;
  void drop() override;
  void send(std::string) override {} // streams only receive

  int64_t last_seq() const override { return last_seq_; }
  bool ready() const override { return ready_; }

private:
  using socket = boost::asio::ip::tcp::socket;

  void read();
  void consume();
  void fail();

  boost::asio::io_context& io_;
  const connection_settings& settings_;
  size_t index_;
  boost::asio::ip::address source_;
  std::string request_;
  std::shared_ptr<socket> socket_; ///< fresh per attempt, as in connection
  uint64_t generation_ = 0;
  std::string buffer_;
  bool head_done_ = false;
  bool ready_ = false;
  bool down_ = false;
  int64_t last_seq_ = 0;
};

} // namespace herald::bench
