#pragma once

#include "actors/user/messages.hpp"
#include "net/auth.hpp"
#include "net/detail/beast.hpp"
#include "net/detail/connection_executor.hpp"
#include "net/detail/connection_stream.hpp"
#include "net/detail/session_registry.hpp"
#include "net/stream/arrivals.hpp"
#include "net/stream/connection_count.hpp"
#include "net/stream/frame_queue.hpp"
#include "net/stream/session_marks.hpp"
#include "net/stream/stream_context.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald::net {

/// One Server-Sent Events stream (GET /v1/stream): the response headers,
/// a `welcome` event naming the session (acks go to POST /v1/ack with it),
/// then one `msg` event per delivery with the seq as its id, and a comment
/// line now and then to keep it alive. Same queue discipline and byte cap
/// as the WebSocket.
class sse_session : public detail::closable,
                    public actors::session_sink,
                    public std::enable_shared_from_this<sse_session> {
public:
  sse_session(detail::connection_stream&& stream, const stream_context& ctx,
              identity who, std::string remote,
              detail::session_registry& registry);
  ~sse_session() override;

  /// Starts the stream for a client that has everything up to `last_seq`.
  /// `heartbeat_events`: heartbeats as `event: heartbeat` (which a script's
  /// EventSource sees) rather than comment lines (which it does not).
  void start(int64_t last_seq, std::string origin,
             bool heartbeat_events = false);

  void welcome(int64_t resume_from, int64_t newest) override;
  void deliver(std::vector<delivery> batch) override;
  void report(const std::string& code, const std::string& message) override;
  void close(uint16_t code, const std::string& reason) override;
  const char* transport() const override { return "sse"; }
  std::string remote_address() const override { return remote_; }
  size_t queued_bytes() const override { return queue_.bytes(); }
  int64_t acked_seq() const override { return marks_.acked(); }
  int64_t sent_seq() const override { return marks_.sent(); }
  uint64_t id() const override { return id_; }
  void close() override;
  void revoke() override;

  /// Whether this stream is the given user's.
  bool belongs_to(int64_t app_id, const std::string& user) const {
    return who_.app_id == app_id && who_.user == user;
  }

  /// Records an ack that came in over POST /v1/ack; false (nothing
  /// recorded) when it is past what this stream was sent.
  bool note_ack(int64_t seq);

private:
  void watch_peer();
  void keepalive();
  void enqueue(std::string chunk);
  void do_write();
  void arm_expiry();
  void drop_slow_consumer(const char* why);
  void finish();
  actors::user_key key() const { return {who_.app_id, who_.user}; }

  detail::connection_stream stream_;
  const stream_context& ctx_;
  identity who_;
  std::string remote_;
  detail::session_registry& registry_;
  uint64_t registry_id_ = 0;
  uint64_t id_;
  boost::asio::steady_timer keepalive_timer_;
  boost::asio::steady_timer expiry_timer_;
  boost::asio::steady_timer write_timer_;
  /// Where pushes from the user actor are posted.
  detail::connection_executor executor_;
  frame_queue queue_;
  bool heartbeat_events_ = false;
  connection_count counted_;
  session_marks marks_;
  /// What deliver() was handed and the I/O thread has not taken yet.
  arrivals arrived_;
  /// The welcome went out (only the first one counts).
  std::atomic<bool> welcomed_{false};
  char peer_byte_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  bool attached_ = false;
};

/// The SSE sessions by id, so that POST /v1/ack finds the one it names.
class sse_directory {
public:
  void add(const std::shared_ptr<sse_session>& s);
  void remove(uint64_t id);
  std::shared_ptr<sse_session> find(uint64_t id) const;

private:
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, std::weak_ptr<sse_session>> sessions_;
};

} // namespace herald::net
