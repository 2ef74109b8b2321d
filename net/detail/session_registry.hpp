#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace herald::net::detail {

/// Something the server can close at shutdown.
class closable {
public:
  virtual ~closable() = default;
  /// Closes the connection; thread-safe (posts onto the session's executor).
  virtual void close() = 0;
};

/// The open sessions of one server, held weakly so that a session's life is
/// its own; the server uses it to close them all at shutdown.
class session_registry {
public:
  uint64_t add(std::weak_ptr<closable> session) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto id = ++next_id_;
    sessions_.emplace(id, std::move(session));
    return id;
  }

  void remove(uint64_t id) {
    std::lock_guard<std::mutex> guard{mutex_};
    sessions_.erase(id);
  }

  size_t size() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return sessions_.size();
  }

  void close_all() {
    std::vector<std::shared_ptr<closable>> open;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      for (auto& [id, weak] : sessions_)
        if (auto session = weak.lock())
          open.push_back(std::move(session));
    }
    for (auto& session : open)
      session->close();
  }

private:
  mutable std::mutex mutex_;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, std::weak_ptr<closable>> sessions_;
};

} // namespace herald::net::detail
