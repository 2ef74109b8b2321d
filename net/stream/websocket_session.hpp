#pragma once

#include "actors/user/messages.hpp"
#include "net/auth.hpp"
#include "net/detail/beast.hpp"
#include "net/detail/connection_stream.hpp"
#include "net/detail/session_registry.hpp"
#include "net/detail/session_strand.hpp"
#include "net/stream/connection_count.hpp"
#include "net/stream/frame_queue.hpp"
#include "net/stream/session_marks.hpp"
#include "net/stream/stream_context.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <string>

namespace herald::net {

/// One herald.v1 WebSocket (docs/protocol.md): waits for hello, attaches to
/// the user's actor, writes msg frames with exactly one write in flight and
/// a byte cap on the queue, forwards acks, closes when the token expires.
class websocket_session
  : public detail::closable,
    public revocable,
    public actors::session_sink,
    public std::enable_shared_from_this<websocket_session> {
public:
  websocket_session(detail::connection_stream&& stream,
                    const stream_context& ctx, identity who, std::string remote,
                    detail::session_registry& registry);
  ~websocket_session() override;

  /// Completes the upgrade of `req` (already authenticated).
  void start(detail::http::request<detail::http::string_body> req);

  // session_sink
  void welcome(int64_t resume_from, int64_t newest) override;
  void deliver(std::vector<delivery> batch) override;
  void report(const std::string& code, const std::string& message) override;
  void close(uint16_t code, const std::string& reason) override;
  const char* transport() const override { return "websocket"; }
  std::string remote_address() const override { return remote_; }
  size_t queued_bytes() const override { return queue_.bytes(); }
  int64_t acked_seq() const override { return marks_.acked(); }
  int64_t sent_seq() const override { return marks_.sent(); }
  uint64_t id() const override { return id_; }

  // closable: the server is shutting down.
  void close() override;

  // revocable: the app's token secret changed.
  void revoke() override;

private:
  using ws_stream = detail::beast::websocket::stream<detail::connection_stream>;

  void on_accept(detail::beast::error_code ec);
  void do_read();
  void on_read(detail::beast::error_code ec, std::size_t bytes);
  void on_frame(const std::string& text);
  void on_hello(std::optional<std::string> token, int64_t last_seq);
  bool refresh_identity(const std::string& token);
  void enqueue(std::string frame);
  void do_write();
  void on_write(detail::beast::error_code ec, std::size_t bytes);
  void do_close(uint16_t code, std::string reason);
  void drop_slow_consumer(const char* why);
  void arm_timer();
  void on_timer();
  bool keep_alive(std::chrono::steady_clock::time_point now);
  void heard();
  void finish();
  actors::user_key key() const { return {who_.app_id, who_.user}; }

  ws_stream ws_;
  /// Client frames are read a piece at a time into this, and gathered in
  /// message_ until complete. Beast's async_read would prepare a 1.5 KB
  /// buffer for every pending read, that is for every idle connection;
  /// client frames (hello, ack, auth, read) are mostly smaller than this.
  std::array<char, 256> piece_;
  std::string message_;
  const stream_context& ctx_;
  identity who_;
  std::string remote_;
  detail::session_registry& registry_;
  uint64_t registry_id_ = 0;
  uint64_t id_;
  /// The hello deadline, the heartbeat, the token's expiry, and whether
  /// a write stalled.
  boost::asio::steady_timer timer_;
  /// Where pushes from the user actor are posted.
  detail::session_strand strand_;
  std::chrono::steady_clock::time_point hello_due_{};
  std::chrono::steady_clock::time_point ping_due_{};
  std::chrono::steady_clock::time_point ping_sent_{};
  std::chrono::steady_clock::time_point write_started_{};
  bool awaiting_pong_ = false;
  bool ping_in_flight_ = false;
  bool heartbeat_frames_ = false;
  /// The client reads several frames from one message, one per line.
  bool batch_frames_ = false;
  static constexpr size_t max_batch_frames = 128;
  static constexpr size_t max_batch_bytes = 128 * 1024;
  uint64_t live_key_ = 0;
  frame_queue queue_;
  connection_count counted_;
  session_marks marks_;
  /// The welcome went out (only the first one counts).
  std::atomic<bool> welcomed_{false};
  bool writing_ = false;
  bool attached_ = false;
  bool closing_ = false;
  bool finished_ = false;
  uint16_t close_code_ = 0;
  std::string close_reason_;
};

} // namespace herald::net
