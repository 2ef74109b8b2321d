#include "net/stream/websocket_session.hpp"

#include "core/log.hpp"
#include "core/protocol.hpp"
#include "core/utf8.hpp"
#include "net/detail/exactly_allocated.hpp"
#include "net/stream/io_handoff.hpp"
#include "net/stream/keepalive_clock.hpp"
#include "net/stream/write_pacer.hpp"
#include "net/websocket/handshake.hpp"

#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace herald::net {

namespace beast = detail::beast;
namespace asio = detail::asio;

namespace {

/// How long the client has to answer our close before the connection is
/// dropped, and how long a write stuck behind a client that does not read
/// may hold a closing session.
constexpr auto close_timeout = std::chrono::seconds{5};
constexpr auto stuck_write_grace = std::chrono::seconds{2};

} // namespace

struct websocket_session::parse_events final
  : websocket::frame_parser::handler {
  explicit parse_events(websocket_session& to) : session(to) {}
  void on_data(websocket::opcode kind, std::string_view piece) override {
    session.on_data(kind, piece);
  }
  void on_message_end(websocket::opcode kind) override {
    session.on_message_end(kind);
  }
  void on_control(websocket::opcode kind, std::string_view payload) override {
    session.on_control(kind, payload);
  }
  websocket_session& session;
};

// Every idle connection holds one session: with its shared_ptr's 16
// bytes it fits jemalloc's 512-byte size class (1,280 with Beast's
// WebSocket stream; the next class is 640). Grow it knowingly.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(websocket_session) <= 496,
              "websocket_session left its 512-byte allocation class");
#endif

websocket_session::websocket_session(detail::connection_stream&& stream,
                                     const stream_context& ctx, identity who,
                                     std::string remote,
                                     detail::session_registry& registry)
  : stream_(std::move(stream)), parser_(ctx.max_frame_bytes), ctx_(ctx),
    who_(std::move(who)), remote_(std::move(remote)), registry_(registry),
    id_(next_session_id()) {}

websocket_session::~websocket_session() {
  registry_.remove(registry_id_);
}

void websocket_session::start(std::string_view accept, std::string early) {
  registry_id_ = registry_.add(weak_from_this(), who_.app_id);
  out_ = std::make_unique<std::string>(
    websocket::switching_protocols(accept, protocol::subprotocol));
  writing_ = true;
  asio::async_write(stream_, asio::buffer(*out_),
                    [self = shared_from_this(), early = std::move(early)](
                      beast::error_code ec, std::size_t) mutable {
                      self->writing_ = false;
                      self->out_.reset();
                      self->on_accept(ec, std::move(early));
                    });
}

void websocket_session::on_accept(beast::error_code ec, std::string early) {
  if (ec) {
    detail::fail(ec, "websocket accept");
    return finish();
  }
  counted_.open(transport());
  hello_or_ping_due_ = std::chrono::steady_clock::now() + ctx_.hello_timeout;
  arm_timer();
  if (!early.empty())
    parse(early.data(), early.size());
  do_write(); // what the early frames asked for (a pong, a close)
  do_read();
}

void websocket_session::heard() {
  awaiting_pong_ = false;
}

// One deadline per session, in its I/O thread's wheel, set for whatever is
// due first: the hello (before it), the heartbeat (after it), the token's
// expiry, a write that stalls, the close. A timer of its own was about 200
// bytes per idle connection, and a timer per write was a wait armed and
// cancelled for every frame.
void websocket_session::arm_timer() {
  std::chrono::steady_clock::time_point at;
  if (closing_) {
    at = closing_->due;
  } else {
    // The hello or the heartbeat comes long before expiry_wait's day.
    at = std::chrono::steady_clock::now() +
         expiry_wait(who_.expires_at, unix_now());
    at = std::min(at, hello_or_ping_due_);
    if (writing_)
      at = std::min(at, write_started_ + ctx_.write_timeout);
  }
  if (keepalive_deadline(at) == deadline_)
    return; // set already
  deadline_ =
    deadline_wheel::here(stream_.get_executor()).schedule(weak_from_this(), at);
}

void websocket_session::on_deadline(std::chrono::steady_clock::time_point due) {
  if (due != deadline_)
    return; // one set before the last
  deadline_ = {};
  on_timer();
}

void websocket_session::on_timer() {
  if (finished_ || tearing_down_)
    return;
  auto now = std::chrono::steady_clock::now();
  if (closing_) {
    if (now < closing_->due)
      return arm_timer();
    // The client neither took the rest nor answered the close: what the
    // kernel still holds for it is thrown away.
    stream_.abort();
    return finish();
  }
  if (!attached_ && now >= hello_or_ping_due_)
    return do_close(protocol::hello_timeout,
                    protocol::describe(protocol::hello_timeout));
  if (who_.expires_at <= unix_now())
    return do_close(protocol::token_expired,
                    protocol::describe(protocol::token_expired));
  if (writing_ && now >= write_started_ + ctx_.write_timeout)
    return drop_slow_consumer("a write stalled");
  if (attached_ && now >= hello_or_ping_due_ && !keep_alive(now))
    return;
  arm_timer();
}

// The heartbeat's turn; false when the peer is gone.
bool websocket_session::keep_alive(std::chrono::steady_clock::time_point now) {
  if (awaiting_pong_) {
    // Nothing came back within ping_timeout: the peer is gone (or does not
    // play by the protocol). A close handshake would wait for it in vain.
    log::get("net")->info("session {} of {}/{}: no pong within {} ms, "
                          "dropping the connection",
                          id_, who_.app, who_.user, ctx_.ping_timeout.count());
    stream_.close_now();
    finish();
    return false;
  }
  if (ping_sent_ != std::chrono::steady_clock::time_point{} &&
      now < ping_sent_ + ctx_.ping_interval) {
    // The answer came: the next ping is due one interval after the last.
    hello_or_ping_due_ = keepalive_deadline(ping_sent_ + ctx_.ping_interval);
    return true;
  }
  ping_sent_ = now;
  awaiting_pong_ = true;
  hello_or_ping_due_ = keepalive_deadline(now + ctx_.ping_timeout);
  if (heartbeat_frames_ && attached_ && !writing_ && queue_.empty() &&
      !pong_due_ && !closing_) {
    send_ping_and_heartbeat();
    return !finished_;
  }
  // The ping goes after the write in flight: a ping cannot pass a stalled
  // write, and its pong then never comes.
  ping_due_out_ = true;
  if (heartbeat_frames_ && attached_)
    enqueue(protocol::heartbeat_frame());
  else
    do_write();
  return true;
}

// An idle session of a client that asked for heartbeats (herald.js: a
// browser answers pings but does not show them to scripts) gets the ping
// and the heartbeat frame in one system call instead of two: the
// heartbeat is most of what an idle connection costs the engine.
void websocket_session::send_ping_and_heartbeat() {
  auto ping = websocket::control_frame(websocket::opcode::ping, {});
  auto beat = protocol::heartbeat_frame();
  auto header = websocket::server_header(websocket::opcode::text, beat.size());
  std::array<asio::const_buffer, 3> buffers{
    asio::buffer(ping), asio::buffer(header.bytes.data(), header.size),
    asio::buffer(beat)};
  send_now(buffers);
}

void websocket_session::do_read() {
  if (reading_ || reads_done_ || finished_)
    return;
  reading_ = true;
  auto into = asio::buffer(pending_);
  if (stream_.is_tls()) {
    if (!tls_piece_)
      tls_piece_ = std::make_unique<std::array<char, 256>>();
    into = asio::buffer(*tls_piece_);
  }
  // Pending for as long as the connection is idle: allocated at its size.
  stream_.async_read_some(into,
                          detail::exactly_allocated{beast::bind_front_handler(
                            &websocket_session::on_read, shared_from_this())});
}

void websocket_session::on_read(beast::error_code ec, std::size_t bytes) {
  reading_ = false;
  heard(); // any frame shows the peer is there
  if (ec) {
    detail::fail(ec, "websocket read");
    return finish();
  }
  if (stream_.is_tls())
    parse(tls_piece_->data(), bytes);
  else
    parse_waiting(bytes);
  if (finished_)
    return;
  if (reads_done_ && close_sent_)
    return tear_down();
  do_read();
}

// A plain connection's pending read asks for a few bytes, so that an idle
// connection holds no read buffer. A read that got fewer found the socket
// empty: a pong, the usual frame of an idle connection, is read in one go
// (and Asio then waits for the next one without trying a read first).
// Otherwise the rest that waits in the socket is read at once into one
// buffer per I/O thread. Whatever is left (or an error) the next read
// finds straight away.
void websocket_session::parse_waiting(size_t got) {
  if (got < pending_.size())
    return parse(pending_.data(), got);
  thread_local std::array<char, 16384> waiting;
  std::copy(pending_.begin(), pending_.end(), waiting.begin());
  size_t have = got;
  for (;;) {
    beast::error_code ignored; // the next read reports it
    have += stream_.read_some_now(
      asio::buffer(waiting.data() + have, waiting.size() - have), ignored);
    bool full = have == waiting.size();
    parse(waiting.data(), have);
    if (!full || finished_ || reads_done_)
      return;
    have = 0;
  }
}

void websocket_session::parse(char* data, size_t size) {
  if (reads_done_)
    return;
  parse_events events{*this};
  auto broken = parser_.feed(data, size, events);
  if (!broken)
    return;
  // The client broke the protocol: what it sends after is drained unread.
  reads_done_ = true;
  message_.reset();
  if (closing_) {
    // Already closing (our code stands): only the reads end.
    if (close_sent_)
      tear_down();
    return;
  }
  do_close(broken->code, broken->reason);
}

void websocket_session::on_data(websocket::opcode kind,
                                std::string_view piece) {
  if (closing_)
    return; // data after a close is read and dropped
  if (kind != websocket::opcode::text) {
    message_.reset();
    do_close(protocol::bad_frame, "herald.v1 frames are text");
    return;
  }
  if (!message_)
    message_ = std::make_unique<std::string>();
  message_->append(piece);
}

void websocket_session::on_message_end(websocket::opcode kind) {
  if (closing_ || kind != websocket::opcode::text)
    return;
  // The message's memory goes with it: an idle session holds none.
  auto gathered = std::move(message_);
  std::string text = gathered ? std::move(*gathered) : std::string{};
  if (!utf8::valid(text)) {
    do_close(websocket::close_invalid_payload, "text frames must be UTF-8");
    return;
  }
  on_frame(text);
}

void websocket_session::on_control(websocket::opcode kind,
                                   std::string_view payload) {
  if (kind == websocket::opcode::ping) {
    if (!closing_) {
      pong_due_ = std::make_unique<std::string>(payload);
      do_write();
    }
    return;
  }
  if (kind == websocket::opcode::pong)
    return heard();
  // The client's close: no more reads; ours answers it (or already went).
  reads_done_ = true;
  websocket::close_frame_content content;
  auto broken = websocket::parse_close(payload, content);
  if (closing_) {
    if (close_sent_)
      tear_down();
    return;
  }
  if (broken)
    return do_close(broken->code, broken->reason);
  log::get("net")->debug("session {} of {}/{}: the client closed ({})", id_,
                         who_.app, who_.user,
                         content.code ? *content.code : 1005);
  // Its code is echoed (§5.5.1); what waits for it is dropped, since it
  // reads no more: it resumes from its last ack.
  do_close(content.code, std::string{content.reason});
}

void websocket_session::on_frame(const std::string& text) {
  auto parsed = protocol::parse_client_frame(text);
  if (auto err = std::get_if<protocol::frame_error>(&parsed)) {
    do_close(protocol::bad_frame, err->code + ": " + err->message);
    return;
  }
  auto& frame = std::get<protocol::client_frame>(parsed);
  if (auto hello = std::get_if<protocol::hello>(&frame)) {
    heartbeat_frames_ = hello->heartbeat;
    batch_frames_ = hello->batch;
    on_hello(hello->token, hello->last_seq);
    return;
  }
  if (!attached_) {
    do_close(protocol::bad_frame, "the first frame must be hello");
    return;
  }
  auto shard = ctx_.shard_of(key());
  if (auto ack = std::get_if<protocol::ack>(&frame)) {
    // Only what this session was sent counts as its position: a bogus ack
    // must not move where a restarted user actor resumes it (the user
    // actor answers it with an error frame).
    marks_.note_ack(ack->seq);
    if (shard)
      caf::anon_send(shard, actors::client_ack{key(), id_, ack->seq});
  } else if (auto auth = std::get_if<protocol::auth>(&frame)) {
    if (refresh_identity(auth->token))
      arm_timer();
  } else if (auto read = std::get_if<protocol::read>(&frame)) {
    if (shard)
      caf::anon_send(shard, actors::client_read{key(), id_, read->message_id});
  }
}

void websocket_session::on_hello(std::optional<std::string> token,
                                 int64_t last_seq) {
  if (attached_) {
    enqueue(protocol::error_frame("duplicate_hello", "hello was already said"));
    return;
  }
  if (token && !refresh_identity(*token))
    return;
  auto shard = ctx_.shard_of(key());
  if (!shard) {
    do_close(protocol::going_away, "the engine is restarting; reconnect");
    return;
  }
  attached_ = true;
  // Heartbeats from hello on: before it, the hello timeout bounds a
  // silent connection.
  hello_or_ping_due_ =
    keepalive_deadline(std::chrono::steady_clock::now() + ctx_.ping_interval);
  arm_timer();
  marks_.start(last_seq);
  // The welcome comes from the user actor once it knows the user's feed
  // (welcome()), so that it can say where the session really resumes.
  caf::anon_send(
    shard, actors::attach_session{key(), shared_from_this(), last_seq, false});
}

bool websocket_session::refresh_identity(const std::string& token) {
  auto outcome = authenticate(*ctx_.apps, token, std::nullopt, unix_now());
  if (!outcome.who) {
    do_close(protocol::unauthorized, outcome.message);
    return false;
  }
  if (outcome.who->app_id != who_.app_id || outcome.who->user != who_.user) {
    do_close(protocol::unauthorized, "the token is for another user");
    return false;
  }
  who_.expires_at = outcome.who->expires_at;
  return true;
}

void websocket_session::welcome(int64_t resume_from, int64_t newest) {
  if (welcomed_.exchange(true))
    return;
  marks_.resume_at(resume_from);
  asio::post(stream_.get_executor(), [self = shared_from_this(), resume_from,
                                      newest] {
    auto heartbeat_ms =
      self->heartbeat_frames_
        ? (self->ctx_.ping_interval + self->ctx_.ping_timeout).count()
        : 0;
    self->enqueue(protocol::welcome_frame(self->who_.user, resume_from, newest,
                                          self->who_.expires_at, heartbeat_ms));
  });
}

// A post only when none is on its way: what arrives before the I/O thread
// takes it joins the batch. Under load that is what keeps the session's
// writes (and their system calls) fewer than its messages.
void websocket_session::deliver(std::vector<delivery> batch) {
  marks_.note_sent(batch);
  if (arrived_.add(std::move(batch)))
    hand_to_io(stream_.get_executor(),
               {shared_from_this(), [](void* session) {
                  auto* self = static_cast<websocket_session*>(session);
                  self->write_deliveries(self->arrived_.take());
                }});
}

// A message goes to the socket straight from its sealed content when
// nothing waits before it: no frame is put together, nothing is queued,
// and no operation is started while the kernel takes it. A few for a
// client that reads lines go the same way, in one message. Otherwise they
// wait in the queue (and a client that reads lines gets what waits in one
// message).
void websocket_session::write_deliveries(const std::vector<delivery>& batch) {
  if (ctx_.write_delay.count() > 0 && hold_for_write_delay(batch))
    return;
  bool join = batch_frames_ && batch.size() > 1;
  if (join && batch.size() <= max_gathered_frames && !writing_ &&
      queue_.empty() && !closing_ && !finished_) {
    send_gathered(batch.data(), batch.size());
    do_write(); // a control frame that came meanwhile
    return;
  }
  for (const auto& d : batch) {
    if (closing_ || finished_)
      return;
    if (join || writing_ || !queue_.empty()) {
      queue_frame(protocol::msg_frame(d));
      continue;
    }
    send_gathered(&d, 1);
  }
  do_write(); // what was queued
}

// With a write delay, what comes within it of the session's last write
// waits in the queue for the I/O thread's next pacing tick, and whatever
// came by then goes out in one write. What fills a write already (a
// catch-up's window after an ack) goes at once: waiting would only slow
// it. True when `batch` was taken.
bool websocket_session::hold_for_write_delay(
  const std::vector<delivery>& batch) {
  if (closing_ || finished_)
    return false;
  auto now = std::chrono::steady_clock::now();
  if (!paced_ && now - last_write_ >= ctx_.write_delay) {
    last_write_ = now;
    return false;
  }
  for (const auto& d : batch)
    queue_frame(protocol::msg_frame(d));
  if (queue_.bytes() >= full_write_bytes) {
    last_write_ = now;
    do_write();
    return true;
  }
  if (!paced_ && !finished_) {
    paced_ = true;
    write_pacer::here(stream_.get_executor())
      .hold({shared_from_this(),
             [](void* session) {
               auto* self = static_cast<websocket_session*>(session);
               self->paced_ = false;
               self->last_write_ = std::chrono::steady_clock::now();
               self->do_write();
             }},
            ctx_.write_delay);
  }
  return true;
}

// One message of `count` (at most max_gathered_frames) frames, one per
// line, written from the pieces of each message's sealed content: the
// kernel copies them, and nothing is put together here (the frames of a
// fan-out's batches were a string each, then copied into one).
void websocket_session::send_gathered(const delivery* first, size_t count) {
  constexpr auto pieces_per_frame = protocol::msg_frame_pieces::piece_count;
  std::array<std::optional<protocol::msg_frame_pieces>, max_gathered_frames>
    frames;
  // The header, then each frame's pieces with a line break before all but
  // the first.
  std::array<asio::const_buffer, 1 + max_gathered_frames*(1 + pieces_per_frame)>
    buffers;
  static constexpr char line_break = '\n';
  size_t used = 1;
  size_t payload = 0;
  for (size_t i = 0; i < count; ++i) {
    const auto& frame = frames[i].emplace(first[i]);
    if (i > 0) {
      buffers[used++] = asio::buffer(&line_break, 1);
      ++payload;
    }
    for (const auto& piece : frame.pieces())
      if (!piece.empty())
        buffers[used++] = asio::buffer(piece.data(), piece.size());
    payload += frame.size();
  }
  auto header = websocket::server_header(websocket::opcode::text, payload);
  buffers[0] = asio::buffer(header.bytes.data(), header.size);
  send_now(beast::span<const asio::const_buffer>(buffers.data(), used));
}

void websocket_session::report(const std::string& code,
                               const std::string& message) {
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), code, message] {
               self->enqueue(protocol::error_frame(code, message));
             });
}

void websocket_session::close(uint16_t code, const std::string& reason) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), code, reason] {
    self->do_close(code, reason);
  });
}

void websocket_session::close() {
  close(protocol::going_away, protocol::describe(protocol::going_away));
}

void websocket_session::revoke() {
  close(protocol::unauthorized,
        "the app's token secret changed: get a new token");
}

void websocket_session::enqueue(std::string frame) {
  queue_frame(std::move(frame));
  do_write();
}

void websocket_session::queue_frame(std::string frame) {
  if (closing_ || finished_)
    return;
  // An empty queue takes any one frame, however big: otherwise a message
  // larger than the cap would close every session it is sent to, forever.
  if (!queue_.empty() &&
      queue_.bytes() + frame.size() > ctx_.max_queued_bytes) {
    drop_slow_consumer("queue over the byte cap");
    return;
  }
  queue_.push(std::move(frame));
  // A frame waits behind a write: the timer watches that write's
  // deadline, brought forward at most once per write timeout. A write
  // with nothing behind it is watched by the heartbeat (a ping cannot
  // pass a stalled write, and its pong then never comes).
  if (writing_ &&
      deadline_ > keepalive_deadline(write_started_ + ctx_.write_timeout))
    arm_timer();
}

void websocket_session::do_write() {
  while (!writing_ && !close_sent_ && !finished_) {
    // Control frames first: they are small, and a pong or ping must not
    // wait behind a backlog of messages.
    if (pong_due_) {
      auto payload = std::move(*pong_due_);
      pong_due_.reset();
      if (!send_now(asio::buffer(
            websocket::control_frame(websocket::opcode::pong, payload))))
        return;
      continue;
    }
    if (ping_due_out_ && !closing_) {
      ping_due_out_ = false;
      if (!send_now(asio::buffer(
            websocket::control_frame(websocket::opcode::ping, {}))))
        return;
      continue;
    }
    if (queue_.empty()) {
      // Frames queue only behind a write the socket did not take at once:
      // an idle session keeps no room for them.
      queue_.release_if_empty();
      if (closing_) {
        // The close is a write too: it goes after the queue has drained.
        close_sent_ = true;
        if (send_now(asio::buffer(
              websocket::close_frame(closing_->code, closing_->reason))))
          on_close_written();
      }
      return;
    }
    // What waits goes out in one message to a client that reads lines: a
    // session that is behind (catching up, or a burst) pays one write for
    // many frames instead of one each.
    if (batch_frames_ && queue_.size() > 1)
      queue_.join_front(max_batch_frames, max_batch_bytes);
    if (!send_queued_frames())
      return;
  }
}

// Writes the frames at the front of the queue, as many as one system call
// takes (a client that reads lines has them joined into few), and forgets
// them. False when the socket did not take them all (the rest was copied
// and is being written) or the connection failed.
bool websocket_session::send_queued_frames() {
  auto count = std::min(queue_.size(), max_frames_per_write);
  std::array<websocket::frame_header, max_frames_per_write> headers;
  std::array<asio::const_buffer, 2 * max_frames_per_write> buffers;
  for (size_t i = 0; i < count; ++i) {
    const auto& payload = queue_.at(i);
    headers[i] =
      websocket::server_header(websocket::opcode::text, payload.size());
    buffers[2 * i] = asio::buffer(headers[i].bytes.data(), headers[i].size);
    buffers[2 * i + 1] = asio::buffer(payload);
  }
  bool whole =
    send_now(beast::span<const asio::const_buffer>(buffers.data(), 2 * count));
  // A failed connection took the queue with it; otherwise what the socket
  // did not take was copied.
  if (finished_)
    return false;
  queue_.pop(count);
  return whole;
}

// Writes `buffers` at once when the socket takes them whole: a plain
// connection with room in its kernel buffer, which is every write of a
// client that keeps up. No operation is started and no handler runs (an
// asynchronous write per frame was half of the session's work in a
// fan-out). What the socket does not take is copied and written
// asynchronously, with the write timeout watching it. False then, and
// when the connection failed.
template <class ConstBuffers>
bool websocket_session::send_now(const ConstBuffers& buffers) {
  beast::error_code ec;
  auto total = asio::buffer_size(buffers);
  auto taken = stream_.write_some_now(buffers, ec);
  if (taken == total)
    return true;
  if (ec && ec != asio::error::would_block) {
    detail::fail(ec, "websocket write");
    finish();
    return false;
  }
  beast::buffers_suffix<ConstBuffers> rest(buffers);
  rest.consume(taken);
  out_ = std::make_unique<std::string>(total - taken, '\0');
  asio::buffer_copy(asio::buffer(*out_), rest);
  writing_ = true;
  write_started_ = std::chrono::steady_clock::now();
  asio::async_write(
    stream_, asio::buffer(*out_),
    [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      self->out_.reset();
      if (ec) {
        detail::fail(ec, "websocket write");
        return self->finish();
      }
      if (self->close_sent_)
        return self->on_close_written();
      self->do_write();
    });
  return false;
}

void websocket_session::do_close(std::optional<uint16_t> code,
                                 std::string reason) {
  if (closing_ || finished_)
    return;
  // A write stuck behind a client that does not read gets a moment to
  // drain; then the connection is reset. Otherwise the client has the
  // close timeout to answer.
  auto due = std::chrono::steady_clock::now() +
             (writing_ ? std::chrono::steady_clock::duration{stuck_write_grace}
                       : std::chrono::steady_clock::duration{close_timeout});
  closing_ = std::make_unique<closing_state>(
    closing_state{due, code, std::string{utf8::truncate(reason, 123)}});
  arm_timer();
  queue_.clear();
  do_write();
}

void websocket_session::on_close_written() {
  // Both closes are done when the client's came (or it broke the
  // protocol); otherwise the reads go on until its close arrives.
  if (reads_done_ && !reading_)
    tear_down();
}

// The end of a close handshake: the server closes TCP first (RFC 6455
// §7.1.1), politely, draining what the client still sends.
void websocket_session::tear_down() {
  if (tearing_down_ || finished_)
    return;
  tearing_down_ = true;
  deadline_ = {};
  stream_.async_close(close_timeout,
                      [self = shared_from_this()] { self->finish(); });
}

void websocket_session::drop_slow_consumer(const char* why) {
  // The client takes frames slower than they come: drop what is queued (it
  // resumes from the database with last_seq) and close. A write in flight
  // has its own copy.
  log::get("net")->info("session {} of {}/{}: {} ({} bytes queued), closing "
                        "as a slow consumer",
                        id_, who_.app, who_.user, why, queue_.bytes());
  queue_.clear();
  do_close(protocol::slow_consumer,
           protocol::describe(protocol::slow_consumer));
}

void websocket_session::finish() {
  if (finished_)
    return;
  finished_ = true;
  counted_.close();
  deadline_ = {};
  queue_.clear();
  if (attached_)
    if (auto shard = ctx_.shard_of(key()))
      caf::anon_send(shard, actors::detach_session{key(), id_});
}

} // namespace herald::net
