#include "net/stream/sse_session.hpp"

#include "core/log.hpp"
#include "core/protocol.hpp"
#include "net/stream/io_handoff.hpp"
#include "net/stream/keepalive_clock.hpp"

#include <caf/send.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace herald::net {

namespace beast = detail::beast;
namespace asio = detail::asio;

sse_session::sse_session(detail::connection_stream&& stream,
                         const stream_context& ctx, identity who,
                         std::string remote, detail::session_registry& registry)
  : stream_(std::move(stream)), ctx_(ctx), who_(std::move(who)),
    remote_(std::move(remote)), registry_(registry), id_(next_session_id()),
    keepalive_timer_(stream_.get_executor()),
    expiry_timer_(stream_.get_executor()), write_timer_(stream_.get_executor()),
    executor_(stream_.get_executor()) {}

sse_session::~sse_session() {
  registry_.remove(registry_id_);
}

void sse_session::start(int64_t last_seq, std::string origin,
                        bool heartbeat_events) {
  registry_id_ = registry_.add(weak_from_this(), who_.app_id);
  heartbeat_events_ = heartbeat_events;
  // The client never writes, so only the kernel can tell a dead peer: the
  // heartbeats it cannot acknowledge end the connection after this.
  {
    unsigned timeout_ms = static_cast<unsigned>(ctx_.ping_timeout.count());
    ::setsockopt(stream_.socket().native_handle(), IPPROTO_TCP,
                 TCP_USER_TIMEOUT, &timeout_ms, sizeof(timeout_ms));
  }
  counted_.open(transport());
  marks_.start(last_seq);
  std::string head = "HTTP/1.1 200 OK\r\n"
                     "Server: herald\r\n"
                     "Content-Type: text/event-stream; charset=utf-8\r\n"
                     "Cache-Control: no-store\r\n"
                     "Connection: close\r\n"
                     "X-Accel-Buffering: no\r\n";
  if (!origin.empty())
    head += "Access-Control-Allow-Origin: " + origin + "\r\nVary: Origin\r\n";
  // Ask the browser to wait a second before reconnecting after a drop.
  // The welcome event follows from the user actor (welcome()).
  head += "\r\nretry: 1000\n\n";
  enqueue(std::move(head));
  watch_peer();
  keepalive();
  arm_expiry();
  auto shard = ctx_.shard_of(key());
  if (!shard) {
    close(protocol::going_away, "the engine is restarting");
    return;
  }
  attached_ = true;
  caf::anon_send(
    shard, actors::attach_session{key(), shared_from_this(), last_seq, false});
}

void sse_session::watch_peer() {
  // The client never sends anything: a completed read means it is gone.
  stream_.async_read_some(
    asio::buffer(&peer_byte_, 1),
    [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        detail::fail(ec, "sse peer");
        self->finish();
        return;
      }
      self->watch_peer();
    });
}

void sse_session::keepalive() {
  keepalive_timer_.expires_at(
    keepalive_deadline(std::chrono::steady_clock::now() + ctx_.ping_interval));
  keepalive_timer_.async_wait(
    [self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_)
        return;
      self->enqueue(self->heartbeat_events_ ? "event: heartbeat\ndata: {}\n\n"
                                            : ":\n\n");
      self->keepalive();
    });
}

// Set again while the token is valid (expiry_wait waits a day at most).
void sse_session::arm_expiry() {
  expiry_timer_.expires_after(expiry_wait(who_.expires_at, unix_now()));
  expiry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec)
      return;
    if (self->who_.expires_at > unix_now())
      return self->arm_expiry();
    self->enqueue(
      "event: error\ndata: " +
      protocol::error_frame("token_expired", "reconnect with a fresh token") +
      "\n\n");
    self->close(protocol::token_expired, "token expired");
  });
}

void sse_session::welcome(int64_t resume_from, int64_t newest) {
  if (welcomed_.exchange(true))
    return;
  marks_.resume_at(resume_from);
  asio::post(executor_, [self = shared_from_this(), resume_from, newest] {
    nlohmann::json welcome{
      {"type", "welcome"},       {"session", self->id_},
      {"user", self->who_.user}, {"resume_from", resume_from},
      {"last_seq", newest},      {"token_expires_at", self->who_.expires_at}};
    if (self->heartbeat_events_)
      welcome["heartbeat_ms"] =
        (self->ctx_.ping_interval + self->ctx_.ping_timeout).count();
    self->enqueue("event: welcome\ndata: " + welcome.dump() + "\n\n");
  });
}

// As a WebSocket's: what arrives before the I/O thread takes it goes out in
// the same chunk.
void sse_session::deliver(std::vector<delivery> batch) {
  marks_.note_sent(batch);
  if (arrived_.add(std::move(batch)))
    hand_to_io(executor_, {shared_from_this(), [](void* session) {
                             auto* self = static_cast<sse_session*>(session);
                             std::string chunk;
                             for (const auto& d : self->arrived_.take())
                               chunk += protocol::sse_event(d);
                             self->enqueue(std::move(chunk));
                           }});
}

void sse_session::report(const std::string& code, const std::string& message) {
  asio::post(executor_, [self = shared_from_this(), code, message] {
    self->enqueue(
      "event: error\ndata: " + protocol::error_frame(code, message) + "\n\n");
  });
}

void sse_session::close(uint16_t, const std::string&) {
  asio::post(executor_, [self = shared_from_this()] {
    // Let what is queued go out first, then end the response.
    if (!self->writing_ && self->queue_.empty()) {
      self->stream_.close_now();
      self->finish();
      return;
    }
    self->enqueue(""); // an empty chunk marks the end
  });
}

void sse_session::close() {
  close(protocol::going_away, "server shutting down");
}

void sse_session::revoke() {
  asio::post(executor_, [self = shared_from_this()] {
    self->enqueue(
      "event: error\ndata: " +
      protocol::error_frame("token_revoked",
                            "the app's token secret changed: get a new token") +
      "\n\n");
    self->close(protocol::unauthorized, "token revoked");
  });
}

bool sse_session::note_ack(int64_t seq) {
  return marks_.note_ack(seq);
}

void sse_session::enqueue(std::string chunk) {
  if (finished_)
    return;
  // As on the WebSocket, an empty queue takes one chunk of any size.
  if (!queue_.empty() &&
      queue_.bytes() + chunk.size() > ctx_.max_queued_bytes) {
    drop_slow_consumer("queue over the byte cap");
    return;
  }
  queue_.push(std::move(chunk));
  do_write();
}

void sse_session::do_write() {
  if (writing_ || queue_.empty())
    return;
  if (queue_.front().empty()) { // the end marker queued by close()
    stream_.close_now();
    finish();
    return;
  }
  writing_ = true;
  write_timer_.expires_after(ctx_.write_timeout);
  write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && self->writing_ && !self->finished_)
      self->drop_slow_consumer("a write stalled");
  });
  asio::async_write(
    stream_, asio::buffer(queue_.front()),
    [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      self->write_timer_.cancel();
      if (ec) {
        detail::fail(ec, "sse write");
        self->finish();
        return;
      }
      if (!self->queue_.empty())
        self->queue_.pop();
      self->do_write();
    });
}

void sse_session::drop_slow_consumer(const char* why) {
  // SSE has no close code: the stream just ends; the browser reconnects
  // with Last-Event-ID and resumes from the database.
  log::get("net")->info("sse session {} of {}/{}: {}, closing as a slow "
                        "consumer",
                        id_, who_.app, who_.user, why);
  queue_.drop_waiting(writing_);
  stream_.abort();
  finish();
}

void sse_session::finish() {
  if (finished_)
    return;
  finished_ = true;
  counted_.close();
  keepalive_timer_.cancel();
  expiry_timer_.cancel();
  write_timer_.cancel();
  queue_.drop_waiting(writing_);
  if (attached_)
    if (auto shard = ctx_.shard_of(key()))
      caf::anon_send(shard, actors::detach_session{key(), id_});
}

void sse_directory::add(const std::shared_ptr<sse_session>& s) {
  std::lock_guard<std::mutex> guard{mutex_};
  // Sweep the dead ones now and then so the map stays small.
  if (sessions_.size() > 64 && sessions_.size() % 64 == 0)
    for (auto it = sessions_.begin(); it != sessions_.end();)
      it = it->second.expired() ? sessions_.erase(it) : std::next(it);
  sessions_[s->id()] = s;
}

void sse_directory::remove(uint64_t id) {
  std::lock_guard<std::mutex> guard{mutex_};
  sessions_.erase(id);
}

std::shared_ptr<sse_session> sse_directory::find(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.lock();
}

} // namespace herald::net
