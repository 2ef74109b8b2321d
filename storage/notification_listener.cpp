#include "storage/notification_listener.hpp"

#include "storage/detail/pg.hpp"
#include "storage/error.hpp"

namespace herald::storage {

namespace {

class wake_receiver : public pqxx::notification_receiver {
public:
  wake_receiver(pqxx::connection_base& conn, const std::string& channel,
                const std::function<bool(int)>* ignored)
    : pqxx::notification_receiver(conn, channel), ignored_(ignored) {}

  void operator()(const std::string&, int backend_pid) override {
    if (!(ignored_ && *ignored_ && (*ignored_)(backend_pid)))
      notified = true;
  }

  bool notified = false; ///< since the last wait() began

private:
  const std::function<bool(int)>* ignored_; ///< owned by the impl
};

} // namespace

struct notification_listener::impl {
  std::string url;
  std::vector<std::string> channels;
  /// Per channel: senders whose notifications are not wake-ups.
  std::vector<std::function<bool(int)>> ignored;
  std::unique_ptr<pqxx::connection> conn;
  std::vector<std::unique_ptr<wake_receiver>> receivers; ///< per channel

  void drop() {
    receivers.clear();
    conn.reset();
  }
};

notification_listener::notification_listener(std::string database_url,
                                             std::vector<std::string> channels,
                                             std::string application_name)
  : impl_(std::make_unique<impl>()) {
  impl_->url =
    detail::with_parameter(database_url, "application_name", application_name);
  impl_->channels = std::move(channels);
  impl_->ignored.resize(impl_->channels.size());
}

void notification_listener::ignore_senders(const std::string& channel,
                                           std::function<bool(int)> sender) {
  for (size_t i = 0; i < impl_->channels.size(); ++i)
    if (impl_->channels[i] == channel)
      impl_->ignored[i] = sender;
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
    for (size_t i = 0; i < impl_->channels.size(); ++i)
      impl_->receivers.push_back(std::make_unique<wake_receiver>(
        *impl_->conn, impl_->channels[i], &impl_->ignored[i]));
    // The receivers' LISTENs are sent lazily; force them now.
    impl_->conn->get_notifs();
  } catch (...) {
    impl_->drop();
    detail::rethrow_as_storage_error("cannot listen");
  }
  return true;
}

std::vector<bool>
notification_listener::wait(std::chrono::milliseconds timeout) {
  if (!impl_->conn)
    throw error(errc::unreachable, "not listening");
  try {
    for (auto& r : impl_->receivers)
      r->notified = false;
    auto ms = timeout.count();
    if (impl_->conn->get_notifs() == 0)
      impl_->conn->await_notification(static_cast<long>(ms / 1000),
                                      static_cast<long>((ms % 1000) * 1000));
    impl_->conn->get_notifs();
    if (!impl_->conn->is_open())
      throw pqxx::broken_connection{"listening connection closed"};
    std::vector<bool> notified;
    for (const auto& r : impl_->receivers)
      notified.push_back(r->notified);
    return notified;
  } catch (...) {
    impl_->drop();
    detail::rethrow_as_storage_error("listening connection lost");
  }
}

int notification_listener::backend_pid() const {
  return impl_->conn ? impl_->conn->backendpid() : 0;
}

} // namespace herald::storage
