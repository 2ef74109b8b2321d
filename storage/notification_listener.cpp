#include "storage/notification_listener.hpp"

#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

namespace herald::storage {

namespace {

class wake_receiver : public pqxx::notification_receiver {
public:
  wake_receiver(pqxx::connection_base& conn, const std::string& channel)
    : pqxx::notification_receiver(conn, channel) {}

  void operator()(const std::string&, int) override { ++received; }

  size_t received = 0;
};

} // namespace

struct notification_listener::impl {
  std::string url;
  std::string channel;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<wake_receiver> receiver;

  void drop() {
    receiver.reset();
    conn.reset();
  }
};

notification_listener::notification_listener(std::string database_url,
                                             std::string channel,
                                             std::string application_name)
  : impl_(std::make_unique<impl>()) {
  impl_->url =
    detail::with_parameter(database_url, "application_name", application_name);
  impl_->channel = std::move(channel);
}

notification_listener::~notification_listener() {
  impl_->drop();
}

bool notification_listener::ensure_listening() {
  if (impl_->conn && impl_->conn->is_open())
    return false;
  impl_->drop();
  try {
    impl_->conn = detail::open(impl_->url);
    impl_->receiver =
      std::make_unique<wake_receiver>(*impl_->conn, impl_->channel);
    // The receiver's LISTEN is sent lazily; force it now.
    impl_->conn->get_notifs();
  } catch (...) {
    impl_->drop();
    detail::rethrow_as_storage_error("cannot listen");
  }
  return true;
}

bool notification_listener::wait(std::chrono::milliseconds timeout) {
  if (!impl_->conn)
    throw error(errc::unreachable, "not listening");
  try {
    auto before = impl_->receiver->received;
    auto ms = timeout.count();
    if (impl_->conn->get_notifs() == 0)
      impl_->conn->await_notification(static_cast<long>(ms / 1000),
                                      static_cast<long>((ms % 1000) * 1000));
    impl_->conn->get_notifs();
    if (!impl_->conn->is_open())
      throw pqxx::broken_connection{"listening connection closed"};
    return impl_->receiver->received > before;
  } catch (...) {
    impl_->drop();
    detail::rethrow_as_storage_error("listening connection lost");
  }
}

int notification_listener::backend_pid() const {
  return impl_->conn ? impl_->conn->backendpid() : 0;
}

} // namespace herald::storage
