#include "sse_connection.hpp"

#include "counters.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace herald::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

sse_connection::sse_connection(asio::io_context& io,
                               const connection_settings& settings,
                               size_t index, asio::ip::address source,
                               std::string target)
  : io_(io), settings_(settings), index_(index), source_(source),
    request_("GET " + target + " HTTP/1.0\r\nHost: " + settings.host +
             "\r\nAccept: text/event-stream\r\n\r\n") {}

void sse_connection::start() {
  ++generation_;
  ready_ = false;
  down_ = false;
  head_done_ = false;
  buffer_.clear();
  socket_ = std::make_shared<socket>(io_);
  boost::system::error_code ec;
  socket_->open(tcp::v4(), ec);
  int on = 1;
  if (!ec)
    ::setsockopt(socket_->native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
                 &on, sizeof on);
  if (!ec)
    socket_->bind(tcp::endpoint(source_, 0), ec);
  if (ec) {
    settings_.stats->error("bind: " + ec.message());
    fail();
    return;
  }
  socket_->async_connect(
    settings_.server, [self = shared_from_this(), s = socket_,
                       gen = generation_](boost::system::error_code ec) {
      if (gen != self->generation_)
        return;
      if (ec) {
        self->settings_.stats->error("connect: " + ec.message());
        self->fail();
        return;
      }
      asio::async_write(*s, asio::buffer(self->request_),
                        [self, s, gen](boost::system::error_code ec, size_t) {
                          if (gen != self->generation_)
                            return;
                          if (ec) {
                            self->settings_.stats->error("request: " +
                                                         ec.message());
                            self->fail();
                            return;
                          }
                          self->read();
                        });
    });
}

void sse_connection::read() {
  auto chunk = std::make_shared<std::array<char, 16384>>();
  socket_->async_read_some(
    asio::buffer(*chunk),
    [self = shared_from_this(), s = socket_, chunk,
     gen = generation_](boost::system::error_code ec, size_t n) {
      if (gen != self->generation_)
        return;
      if (ec) {
        if (ec == asio::error::eof)
          ++self->settings_.stats->closes;
        else
          self->settings_.stats->error("read: " + ec.message());
        self->fail();
        return;
      }
      self->buffer_.append(chunk->data(), n);
      self->consume();
      if (!self->down_)
        self->read();
    });
}

void sse_connection::consume() {
  if (!head_done_) {
    auto end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos)
      return;
    if (buffer_.compare(0, 12, "HTTP/1.1 200") != 0 &&
        buffer_.compare(0, 12, "HTTP/1.0 200") != 0) {
      settings_.stats->error("answer: " + buffer_.substr(0, 40));
      fail();
      return;
    }
    head_done_ = true;
    buffer_.erase(0, end + 4);
    ready_ = true;
    settings_.on_ready(index_);
  }
  // Events end with a blank line; their data lines are the payloads.
  size_t done = 0;
  for (auto end = buffer_.find("\n\n"); end != std::string::npos;
       end = buffer_.find("\n\n", done)) {
    std::string_view event(buffer_.data() + done, end - done);
    for (size_t at = 0; at < event.size();) {
      auto eol = event.find('\n', at);
      auto line = event.substr(
        at, eol == std::string_view::npos ? std::string_view::npos : eol - at);
      if (line.rfind("data:", 0) == 0)
        record_plain(line.substr(5), settings_, last_seq_);
      if (eol == std::string_view::npos)
        break;
      at = eol + 1;
    }
    done = end + 2;
  }
  buffer_.erase(0, done);
}

void sse_connection::drop() {
  if (!socket_ || down_)
    return;
  boost::system::error_code ignored;
  socket_->set_option(asio::socket_base::linger(true, 0), ignored);
  socket_->close(ignored);
}

void sse_connection::fail() {
  if (down_)
    return;
  down_ = true;
  bool was_ready = ready_;
  ready_ = false;
  ++generation_;
  if (socket_) {
    boost::system::error_code ignored;
    socket_->close(ignored);
  }
  settings_.on_down(index_, was_ready);
}

} // namespace herald::bench
