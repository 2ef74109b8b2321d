#include "net/stream/poll_session.hpp"

#include "core/protocol.hpp"
#include "net/stream/stream_context.hpp"

#include <caf/send.hpp>

#include <boost/asio/strand.hpp>

namespace herald::net {

poll_session::poll_session(boost::asio::io_context& io, responder respond,
                           std::string remote, int64_t after,
                           actors::user_key key, actors::user_shard_actor shard,
                           size_t max_bytes)
  // On a strand of its own: the deliver and the timeout race from
  // different threads, and only the strand makes cancel safe.
  : timer_(boost::asio::make_strand(io)), respond_(std::move(respond)),
    remote_(std::move(remote)), after_(after), key_(std::move(key)),
    shard_(std::move(shard)), max_bytes_(max_bytes), id_(next_session_id()) {}

void poll_session::start(std::chrono::seconds wait) {
  counted_.open(transport());
  caf::anon_send(shard_,
                 actors::attach_session{key_, shared_from_this(), after_, true,
                                        wait.count() == 0});
  // An immediate poll is answered by the user actor; the timer is only a
  // safety net should that take too long.
  timer_.expires_after(wait.count() == 0 ? std::chrono::seconds{5} : wait);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec)
      return;
    auto after = self->after_.load();
    if (self->answer(json_response(200, protocol::poll_body({}, after, after))))
      caf::anon_send(self->shard_,
                     actors::detach_session{self->key_, self->id_});
  });
}

void poll_session::welcome(int64_t resume_from, int64_t) {
  after_ = std::min<int64_t>(after_, resume_from);
}

void poll_session::deliver(std::vector<delivery> batch) {
  // The byte cap of the other transports: an answer holds what fits (at
  // least one message, whatever its size); its last_seq says where the
  // next poll resumes, so the rest comes then.
  size_t bytes = 0;
  size_t fits = 0;
  for (; fits < batch.size(); ++fits) {
    bytes += protocol::msg_frame(batch[fits]).size();
    if (fits > 0 && bytes > max_bytes_)
      break;
  }
  batch.resize(fits);
  auto after = after_.load();
  auto last = batch.empty() ? after : batch.back().seq;
  if (answer(json_response(200, protocol::poll_body(batch, after, last))))
    boost::asio::post(timer_.get_executor(),
                      [self = shared_from_this()] { self->timer_.cancel(); });
}

void poll_session::close(uint16_t code, const std::string& reason) {
  if (answer(json_error(code == protocol::too_many_sessions ? 429 : 503,
                        code == protocol::too_many_sessions
                          ? "too_many_sessions"
                          : "unavailable",
                        reason)))
    boost::asio::post(timer_.get_executor(),
                      [self = shared_from_this()] { self->timer_.cancel(); });
}

bool poll_session::answer(http_response res) {
  if (answered_.exchange(true))
    return false;
  counted_.close();
  respond_(std::move(res));
  return true;
}

} // namespace herald::net
