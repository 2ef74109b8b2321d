#pragma once

#include "actors/user/messages.hpp"
#include "actors/user/user_shard_actor.hpp"
#include "net/http_types.hpp"
#include "net/stream/connection_count.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>

namespace herald::net {

/// One long-poll request (GET /v1/poll): attached to the user's actor as a
/// session that is answered once, with what arrives first, or with nothing
/// when the wait is over.
class poll_session : public actors::session_sink,
                     public std::enable_shared_from_this<poll_session> {
public:
  poll_session(boost::asio::io_context& io, responder respond,
               std::string remote, int64_t after, actors::user_key key,
               actors::user_shard_actor shard, size_t max_bytes);

  /// Waits up to `wait` for deliveries after `after`.
  void start(std::chrono::seconds wait);

  void welcome(int64_t resume_from, int64_t newest) override;
  void deliver(std::vector<delivery> batch) override;
  void report(const std::string&, const std::string&) override {}
  void close(uint16_t code, const std::string& reason) override;
  const char* transport() const override { return "poll"; }
  std::string remote_address() const override { return remote_; }
  size_t queued_bytes() const override { return 0; }
  int64_t acked_seq() const override { return after_; }
  int64_t sent_seq() const override { return after_; }
  uint64_t id() const override { return id_; }

private:
  bool answer(http_response res);

  boost::asio::steady_timer timer_;
  responder respond_;
  std::string remote_;
  /// Where the answer starts: the client's `after`, or less when that is
  /// past the user's feed (welcome()); read by the timeout's thread too.
  std::atomic<int64_t> after_;
  actors::user_key key_;
  actors::user_shard_actor shard_;
  size_t max_bytes_;
  uint64_t id_;
  std::atomic<bool> answered_{false};
  connection_count counted_;
};

} // namespace herald::net
