#include "connection.hpp"

#include "counters.hpp"
#include "frame_fields.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream_base.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>

namespace herald::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

connection::connection(asio::io_context& io,
                       const connection_settings& settings, size_t index,
                       asio::ip::address source, std::string target)
  : io_(io), settings_(settings), index_(index), source_(source),
    target_(std::move(target)), last_seq_(settings.initial_seq),
    ack_timer_(io) {}

void connection::start() {
  ++generation_;
  ready_ = false;
  down_ = false;
  writing_ = false;
  queue_.clear();
  buffer_.clear();
  acked_ = last_seq_;
  unacked_ = 0;
  ack_due_ = false;
  ack_timer_.cancel();
  ws_ = std::make_shared<stream>(io_);
  auto& socket = beast::get_lowest_layer(*ws_).socket();
  beast::error_code ec;
  socket.open(tcp::v4(), ec);
  // Pick the port at connect time, per (source, destination) pair, instead
  // of reserving one of the source's ports for every destination at bind.
  int on = 1;
  if (!ec)
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
                 &on, sizeof on);
  if (!ec)
    socket.bind(tcp::endpoint(source_, 0), ec);
  if (ec) {
    settings_.stats->error("bind: " + ec.message());
    fail();
    return;
  }
  beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(*ws_).async_connect(
    settings_.server, [self = shared_from_this(), ws = ws_, gen = generation_](
                        beast::error_code ec) { self->on_connect(gen, ec); });
}

void connection::on_connect(uint64_t gen, beast::error_code ec) {
  if (gen != generation_)
    return;
  if (ec) {
    settings_.stats->error("connect: " + ec.message());
    fail();
    return;
  }
  beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true));
  bool herald = settings_.proto == protocol::herald;
  ws_->set_option(
    websocket::stream_base::decorator([herald](websocket::request_type& req) {
      if (herald)
        req.set(beast::http::field::sec_websocket_protocol, "herald.v1");
    }));
  ws_->async_handshake(
    settings_.host, target_,
    [self = shared_from_this(), ws = ws_,
     gen = generation_](beast::error_code ec) { self->on_handshake(gen, ec); });
}

void connection::on_handshake(uint64_t gen, beast::error_code ec) {
  if (gen != generation_)
    return;
  if (ec) {
    settings_.stats->error("handshake: " + ec.message());
    fail();
    return;
  }
  // The engine pings idle sessions; the client only answers them.
  beast::get_lowest_layer(*ws_).expires_never();
  ws_->set_option(
    websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws_->text(true);
  if (settings_.proto == protocol::herald) {
    // As herald.js: several frames may come in one message, one per line.
    send(R"({"type":"hello","batch":true,"last_seq":)" +
         std::to_string(last_seq_) + "}");
  } else {
    ready_ = true;
    settings_.on_ready(index_);
  }
  read();
}

void connection::read() {
  ws_->async_read(buffer_,
                  [self = shared_from_this(), ws = ws_, gen = generation_](
                    beast::error_code ec, size_t) { self->on_read(gen, ec); });
}

void connection::on_read(uint64_t gen, beast::error_code ec) {
  if (gen != generation_)
    return;
  if (ec) {
    if (ec == websocket::error::closed)
      ++settings_.stats->closes;
    fail();
    return;
  }
  if (settings_.quickack) {
    int on = 1; // the kernel clears it again after a while: set per read
    ::setsockopt(beast::get_lowest_layer(*ws_).socket().native_handle(),
                 IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
  }
  auto data = buffer_.cdata();
  std::string_view text(static_cast<const char*>(data.data()), data.size());
  if (settings_.proto == protocol::herald) {
    for (size_t start = 0; start <= text.size();) {
      auto end = std::min(text.find('\n', start), text.size());
      handle_frame(text.substr(start, end - start));
      start = end + 1;
    }
  } else {
    handle_frame(text);
  }
  buffer_.consume(buffer_.size());
  read();
}

void connection::handle_frame(std::string_view frame) {
  auto& stats = *settings_.stats;
  if (settings_.proto == protocol::herald &&
      frame.find(R"("type":"msg")") == std::string_view::npos) {
    if (frame.find(R"("type":"welcome")") != std::string_view::npos) {
      ready_ = true;
      settings_.on_ready(index_);
    } else if (frame.find(R"("type":"error")") != std::string_view::npos) {
      ++stats.errors;
    }
    return;
  }
  if (settings_.proto != protocol::herald) {
    record_plain(frame, settings_, last_seq_);
    return;
  }
  auto stamp = int_field(frame, R"("bench_t")");
  if (!stamp)
    return;
  auto seq = int_field(frame, R"("seq")").value_or(0);
  // Seqs are positions in the stream log: increasing, with gaps. Whether
  // something was lost shows in the count received, not in the seqs.
  if (seq <= last_seq_) {
    ++stats.duplicates; // a resend after a lost ack: dropped, as clients do
    return;
  }
  last_seq_ = seq;
  auto now = now_micros();
  stats.arrived(now, now - *stamp, int_field(frame, R"("bench_n")").value_or(0),
                settings_.keep_arrivals);
  ack_soon();
}

void connection::ack_soon() {
  if (++unacked_ >= settings_.ack_every || settings_.ack_delay.count() == 0) {
    ack_due_ = true;
    if (!writing_)
      write_next(); // acks ride behind whatever write is in flight
    return;
  }
  if (unacked_ > 1)
    return; // the timer of the first unacked message is running
  ack_timer_.expires_after(settings_.ack_delay);
  ack_timer_.async_wait(
    [self = shared_from_this(), gen = generation_](beast::error_code ec) {
      if (ec || gen != self->generation_)
        return;
      self->ack_due_ = true;
      if (!self->writing_)
        self->write_next();
    });
}

void record_plain(std::string_view payload, const connection_settings& settings,
                  int64_t& last) {
  auto& stats = *settings.stats;
  auto stamp = int_field(payload, R"("bench_t")");
  if (!stamp)
    return; // a peer's own frame, not one of ours
  auto serial = int_field(payload, R"("bench_n")").value_or(0);
  if (settings.dedup) {
    if (serial <= last) {
      ++stats.duplicates;
      return;
    }
    last = serial;
  } else {
    ++last; // several writers: count what arrived
  }
  auto now = now_micros();
  stats.arrived(now, now - *stamp, serial, settings.keep_arrivals);
}

void connection::send(std::string frame) {
  queue_.push_back(std::move(frame));
  if (!writing_)
    write_next();
}

void connection::write_next() {
  if (queue_.empty() && ready_ && ack_due_ && last_seq_ > acked_ &&
      settings_.proto == protocol::herald) {
    // One cumulative ack covers every message read since the last one.
    acked_ = last_seq_;
    unacked_ = 0;
    ack_due_ = false;
    ack_timer_.cancel();
    queue_.push_back(R"({"type":"ack","seq":)" + std::to_string(acked_) + "}");
  }
  if (queue_.empty())
    return;
  writing_ = true;
  ws_->async_write(asio::buffer(queue_.front()),
                   [self = shared_from_this(), ws = ws_,
                    gen = generation_](beast::error_code ec, size_t) {
                     if (gen != self->generation_)
                       return;
                     self->writing_ = false;
                     if (ec) {
                       self->fail();
                       return;
                     }
                     self->queue_.pop_front();
                     self->write_next();
                   });
}

void connection::drop() {
  if (!ws_ || down_)
    return;
  beast::error_code ignored;
  auto& socket = beast::get_lowest_layer(*ws_).socket();
  // RST instead of FIN: the engine learns of it as it would of a dead peer.
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

void connection::fail() {
  if (down_)
    return;
  down_ = true;
  bool was_ready = ready_;
  ready_ = false;
  ++generation_; // whatever is still queued for this attempt is ignored
  if (ws_) {
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  }
  settings_.on_down(index_, was_ready);
}

} // namespace herald::bench
