#pragma once

#include "actors/user/messages.hpp"
#include "net/auth.hpp"
#include "net/detail/bare_stream.hpp"
#include "net/detail/beast.hpp"
#include "net/detail/connection_executor.hpp"
#include "net/detail/connection_stream.hpp"
#include "net/detail/session_registry.hpp"
#include "net/stream/arrivals.hpp"
#include "net/stream/connection_count.hpp"
#include "net/stream/deadline_wheel.hpp"
#include "net/stream/frame_queue.hpp"
#include "net/stream/session_marks.hpp"
#include "net/stream/stream_context.hpp"
#include "net/websocket/frame.hpp"
#include "net/websocket/frame_parser.hpp"

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace herald::net {

/// One herald.v1 WebSocket (docs/protocol.md): waits for hello, attaches to
/// the user's actor, writes msg frames (straight to the socket while it
/// takes them, else queued with a byte cap, one write in flight), forwards
/// acks, closes when the token expires.
///
/// It speaks RFC 6455 itself (net/websocket/) on the connection's byte
/// stream: Beast's WebSocket stream kept 2.5 KB per connection, most of it
/// a read buffer, and a pending read of its own on top (docs/design.md,
/// "A WebSocket layer of our own").
class websocket_session
  : public detail::closable,
    public actors::session_sink,
    public std::enable_shared_from_this<websocket_session>,
    public deadline_wheel::owner {
public:
  websocket_session(detail::connection_stream&& stream,
                    const stream_context& ctx, identity who, std::string remote,
                    detail::session_registry& registry);
  ~websocket_session() override;

  /// Completes the upgrade (the request was checked and authenticated):
  /// answers with `accept` as Sec-WebSocket-Accept, then reads frames,
  /// starting with `early`, what the client sent after its request.
  void start(std::string_view accept, std::string early);

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

  // closable: the app's token secret changed.
  void revoke() override;

private:
  void on_accept(detail::beast::error_code ec, std::string early);
  void do_read();
  void on_read(detail::beast::error_code ec, std::size_t bytes);
  void parse_waiting(size_t got);
  void parse(char* data, size_t size);
  /// What the parser finds goes to on_data, on_message_end, on_control.
  struct parse_events;
  void on_data(websocket::opcode kind, std::string_view piece);
  void on_message_end(websocket::opcode kind);
  void on_control(websocket::opcode kind, std::string_view payload);
  void on_frame(const std::string& text);
  void on_hello(std::optional<std::string> token, int64_t last_seq);
  bool refresh_identity(const std::string& token);
  void write_deliveries(const std::vector<delivery>& batch);
  void send_gathered(const delivery* first, size_t count);
  bool hold_for_write_delay(const std::vector<delivery>& batch);
  bool send_queued_frames();
  void enqueue(std::string frame);
  void queue_frame(std::string frame);
  void do_write();
  template <class ConstBuffers>
  bool send_now(const ConstBuffers& buffers);
  void do_close(std::optional<uint16_t> code, std::string reason);
  void on_close_written();
  void tear_down();
  void drop_slow_consumer(const char* why);
  void arm_timer();
  void on_deadline(std::chrono::steady_clock::time_point due) override;
  void on_timer();
  bool keep_alive(std::chrono::steady_clock::time_point now);
  void send_ping_and_heartbeat();
  void heard();
  void finish();
  actors::user_key key() const { return {who_.app_id, who_.user}; }

  detail::bare_stream stream_;
  websocket::frame_parser parser_;
  /// A TLS connection reads through this instead: its stream cannot be
  /// read without waiting.
  std::unique_ptr<std::array<char, 256>> tls_piece_;
  // What follows exists only while it is needed: an idle connection holds
  // a session, and a pointer is a quarter of an empty string.
  /// A client message, gathered until complete.
  std::unique_ptr<std::string> message_;
  /// What is being written asynchronously: the 101 answer, or the rest of
  /// a frame the socket did not take at once.
  std::unique_ptr<std::string> out_;
  /// A client's ping waits for the write in flight; only the last one is
  /// answered (RFC 6455 §5.5.3).
  std::unique_ptr<std::string> pong_due_;
  const stream_context& ctx_;
  identity who_;
  std::string remote_;
  detail::session_registry& registry_;
  uint64_t registry_id_ = 0;
  uint64_t id_;
  /// The deadline set in the I/O thread's wheel, for whatever is due
  /// first: the hello, the heartbeat, the token's expiry, a stalled write,
  /// the close; none while nothing is.
  std::chrono::steady_clock::time_point deadline_{};
  /// Before the hello, until when it may take; after it, when the next
  /// heartbeat is due.
  std::chrono::steady_clock::time_point hello_or_ping_due_{};
  std::chrono::steady_clock::time_point ping_sent_{};
  std::chrono::steady_clock::time_point write_started_{};
  /// When messages were last written, for the write delay.
  std::chrono::steady_clock::time_point last_write_{};
  /// The close under way: the frame to send once the queue is written,
  /// and until when the handshake may take. None while open.
  struct closing_state {
    std::chrono::steady_clock::time_point due;
    /// None for a client's close that came without a code.
    std::optional<uint16_t> code;
    std::string reason;
  };
  std::unique_ptr<closing_state> closing_;
  static constexpr size_t max_batch_frames = 128;
  /// At most this many frames go out from their pieces in one message:
  /// with the header, what the socket takes in one system call (64
  /// buffers).
  static constexpr size_t max_gathered_frames = 10;
  /// Queued frames written in one system call (what a client that takes
  /// one frame per message has waiting): a header and a payload each, 64
  /// buffers.
  static constexpr size_t max_frames_per_write = 32;
  /// Held messages of this many bytes fill a write (about three segments
  /// of a real network's): they go without waiting out the write delay.
  static constexpr size_t full_write_bytes = 4096;
  static constexpr size_t max_batch_bytes = 128 * 1024;
  frame_queue queue_;
  /// What deliver() was handed and the I/O thread has not taken yet: one
  /// post takes all of it, written in one message to a batch client.
  arrivals arrived_;
  connection_count counted_;
  session_marks marks_;
  bool heartbeat_frames_ = false;
  /// The client reads several frames from one message, one per line.
  bool batch_frames_ = false;
  bool awaiting_pong_ = false;
  bool ping_due_out_ = false;
  /// The welcome went out (only the first one counts).
  std::atomic<bool> welcomed_{false};
  bool writing_ = false;
  /// Messages wait for the I/O thread's next pacing tick (write delay).
  bool paced_ = false;
  bool attached_ = false;
  /// Our close frame went out; nothing more may.
  bool close_sent_ = false;
  /// Nothing more is read: the client's close came, or it broke the
  /// protocol (what it sends then is drained unread).
  bool reads_done_ = false;
  bool reading_ = false;
  bool tearing_down_ = false;
  bool finished_ = false;
  /// What a plain connection's pending read reads into (parse_waiting):
  /// room for a pong of an empty ping.
  std::array<char, 8> pending_{};
};

} // namespace herald::net
