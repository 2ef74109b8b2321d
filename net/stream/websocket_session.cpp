#include "net/stream/websocket_session.hpp"

#include "core/log.hpp"
#include "core/protocol.hpp"
#include "net/stream/keepalive_clock.hpp"

#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace herald::net {

namespace beast = detail::beast;
namespace asio = detail::asio;
namespace http = detail::http;
namespace websocket = beast::websocket;

websocket_session::websocket_session(detail::connection_stream&& stream,
                                     const stream_context& ctx, identity who,
                                     std::string remote,
                                     detail::session_registry& registry)
  : ws_(std::move(stream)), ctx_(ctx), who_(std::move(who)),
    remote_(std::move(remote)), registry_(registry), id_(next_session_id()),
    timer_(ws_.get_executor()), strand_(ws_.get_executor()) {}

websocket_session::~websocket_session() {
  registry_.remove(registry_id_);
  ctx_.live->remove(live_key_);
}

void websocket_session::start(http::request<http::string_body> req) {
  registry_id_ = registry_.add(weak_from_this());
  live_key_ = ctx_.live->add(who_.app_id, weak_from_this());
  // Beast's own idle timeout stays off: the heartbeat below has its own
  // interval and timeout (the handshake and close keep Beast's). The
  // server's suggested() would turn it on, with pings of its own and a
  // timer re-armed on every read.
  auto timeouts =
    websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  // Runs inside a read, which holds the session alive.
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong)
      heard();
  });
  ws_.set_option(
    websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "herald");
      res.set(http::field::sec_websocket_protocol, protocol::subprotocol);
    }));
  ws_.read_message_max(ctx_.max_frame_bytes);
  ws_.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept,
                                                  shared_from_this()));
}

void websocket_session::on_accept(beast::error_code ec) {
  if (ec) {
    detail::fail(ec, "websocket accept");
    return finish();
  }
  counted_.open(transport());
  hello_due_ = std::chrono::steady_clock::now() + ctx_.hello_timeout;
  arm_timer();
  do_read();
}

void websocket_session::heard() {
  awaiting_pong_ = false;
}

// One timer per session, set for whatever is due first: the hello (before
// it), the heartbeat (after it), the token's expiry, a write that stalls.
// Each timer is a hundred bytes in the session and as much again for its
// pending wait, per idle connection; and a timer per write was a wait
// armed and cancelled for every frame.
void websocket_session::arm_timer() {
  // The hello or the heartbeat comes long before expiry_wait's day.
  auto at =
    std::chrono::steady_clock::now() + expiry_wait(who_.expires_at, unix_now());
  at = std::min(at, attached_ ? ping_due_ : hello_due_);
  if (writing_)
    at = std::min(at, write_started_ + ctx_.write_timeout);
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->on_timer();
  });
}

void websocket_session::on_timer() {
  if (closing_ || finished_)
    return;
  auto now = std::chrono::steady_clock::now();
  if (!attached_ && now >= hello_due_)
    return do_close(protocol::hello_timeout,
                    protocol::describe(protocol::hello_timeout));
  if (who_.expires_at <= unix_now())
    return do_close(protocol::token_expired,
                    protocol::describe(protocol::token_expired));
  if (writing_ && now >= write_started_ + ctx_.write_timeout)
    return drop_slow_consumer("a write stalled");
  if (attached_ && now >= ping_due_ && !keep_alive(now))
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
    ws_.next_layer().close_now();
    finish();
    return false;
  }
  if (ping_sent_ != std::chrono::steady_clock::time_point{} &&
      now < ping_sent_ + ctx_.ping_interval) {
    // The answer came: the next ping is due one interval after the last.
    ping_due_ = keepalive_deadline(ping_sent_ + ctx_.ping_interval);
    return true;
  }
  ping_sent_ = now;
  awaiting_pong_ = true;
  if (!ping_in_flight_) {
    ping_in_flight_ = true;
    ws_.async_ping({}, [self = shared_from_this()](beast::error_code ec) {
      self->ping_in_flight_ = false;
      detail::fail(ec, "websocket ping");
    });
  }
  if (heartbeat_frames_ && attached_)
    enqueue(protocol::heartbeat_frame());
  ping_due_ = keepalive_deadline(now + ctx_.ping_timeout);
  return true;
}

void websocket_session::do_read() {
  ws_.async_read_some(
    asio::buffer(piece_),
    beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
}

void websocket_session::on_read(beast::error_code ec, std::size_t bytes) {
  heard(); // any frame shows the peer is there
  if (ec) {
    // Beast has already answered a too-big message with close code 1009
    // (read_message_max counts the whole message, not the piece).
    detail::fail(ec, "websocket read");
    return finish();
  }
  if (!ws_.got_text()) {
    message_ = std::string{};
    do_close(protocol::bad_frame, "herald.v1 frames are text");
    return;
  }
  message_.append(piece_.data(), bytes);
  if (!ws_.is_message_done())
    return do_read();
  // The message's memory goes with it: an idle session holds none.
  auto text = std::exchange(message_, std::string{});
  on_frame(text);
  if (!closing_)
    do_read();
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
  ping_due_ =
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
  asio::post(strand_, [self = shared_from_this(), resume_from, newest] {
    auto heartbeat_ms =
      self->heartbeat_frames_
        ? (self->ctx_.ping_interval + self->ctx_.ping_timeout).count()
        : 0;
    self->enqueue(protocol::welcome_frame(self->who_.user, resume_from, newest,
                                          self->who_.expires_at, heartbeat_ms));
  });
}

void websocket_session::deliver(std::vector<delivery> batch) {
  marks_.note_sent(batch);
  asio::post(strand_, [self = shared_from_this(), batch = std::move(batch)] {
    for (const auto& d : batch)
      self->enqueue(protocol::msg_frame(d));
  });
}

void websocket_session::report(const std::string& code,
                               const std::string& message) {
  asio::post(strand_, [self = shared_from_this(), code, message] {
    self->enqueue(protocol::error_frame(code, message));
  });
}

void websocket_session::close(uint16_t code, const std::string& reason) {
  asio::post(strand_, [self = shared_from_this(), code, reason] {
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
  if (writing_ && timer_.expiry() > write_started_ + ctx_.write_timeout)
    arm_timer();
  do_write();
}

void websocket_session::do_write() {
  if (writing_)
    return;
  if (queue_.empty()) {
    if (closing_ && close_code_ != 0) {
      // The close is a write too: it goes after the queue has drained.
      writing_ = true;
      ws_.async_close(
        websocket::close_reason{static_cast<websocket::close_code>(close_code_),
                                close_reason_},
        [self = shared_from_this()](beast::error_code ec) {
          self->writing_ = false;
          detail::fail(ec, "websocket close");
          self->finish();
        });
      close_code_ = 0;
    }
    return;
  }
  // What waits goes out in one message to a client that reads lines: a
  // session that is behind (catching up, or a burst) pays one write for
  // many frames instead of one each.
  if (batch_frames_ && queue_.size() > 1)
    queue_.join_front(max_batch_frames, max_batch_bytes);
  writing_ = true;
  write_started_ = std::chrono::steady_clock::now();
  ws_.text(true);
  ws_.async_write(asio::buffer(queue_.front()),
                  beast::bind_front_handler(&websocket_session::on_write,
                                            shared_from_this()));
}

void websocket_session::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) {
    detail::fail(ec, "websocket write");
    return finish();
  }
  if (!queue_.empty())
    queue_.pop();
  do_write();
}

void websocket_session::do_close(uint16_t code, std::string reason) {
  if (closing_ || finished_)
    return;
  closing_ = true;
  close_code_ = code;
  close_reason_ = reason.substr(0, 120); // close reasons are short
  timer_.cancel();
  if (!writing_) {
    queue_.drop_waiting(false);
    do_write();
    return;
  }
  // A write is stuck behind a client that does not read: give it a moment
  // to drain, then reset the connection.
  auto grace = std::make_shared<asio::steady_timer>(ws_.get_executor());
  grace->expires_after(std::chrono::seconds{2});
  grace->async_wait([self = shared_from_this(), grace](beast::error_code) {
    if (!self->finished_) {
      beast::get_lowest_layer(self->ws_).cancel();
      self->ws_.next_layer().abort();
      self->finish();
    }
  });
}

void websocket_session::drop_slow_consumer(const char* why) {
  // The client takes frames slower than they come: drop what is queued (it
  // resumes from the database with last_seq) and close. Only the frame
  // being written stays: its buffer must outlive the write.
  log::get("net")->info("session {} of {}/{}: {} ({} bytes queued), closing "
                        "as a slow consumer",
                        id_, who_.app, who_.user, why, queue_.bytes());
  queue_.drop_waiting(writing_);
  do_close(protocol::slow_consumer,
           protocol::describe(protocol::slow_consumer));
}

void websocket_session::finish() {
  if (finished_)
    return;
  finished_ = true;
  counted_.close();
  timer_.cancel();
  ctx_.live->remove(live_key_);
  queue_.drop_waiting(writing_);
  if (attached_)
    if (auto shard = ctx_.shard_of(key()))
      caf::anon_send(shard, actors::detach_session{key(), id_});
}

} // namespace herald::net
