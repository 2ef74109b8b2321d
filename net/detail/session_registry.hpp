#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace herald::net::detail {

/// Something the server can end from outside its own thread.
class closable {
public:
  virtual ~closable() = default;
  /// Closes the connection (the server is shutting down); thread-safe
  /// (posts onto the session's executor).
  virtual void close() = 0;
  /// Ends the session as for a bad token: the secret of the app whose
  /// token opened it changed. Only sessions registered with an app get it.
  virtual void revoke() {}
};

/// The open sessions of one server, held weakly so that a session's life is
/// its own: the server closes them all at shutdown, and a rotated token
/// secret ends those its app's tokens opened. One registry for both: an
/// entry is a hash map node, and an idle connection paid for two.
class session_registry {
public:
  /// `app_id`: the app whose token opened the session (0: none).
  uint64_t add(std::weak_ptr<closable> session, int64_t app_id = 0) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto id = ++next_id_;
    sessions_.emplace(id, entry{std::move(session), app_id});
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
    for (auto& session : open_if([](const auto&) { return true; }))
      session->close();
  }

  /// Revokes the sessions of these apps; returns how many.
  size_t revoke(const std::vector<int64_t>& app_ids) {
    auto doomed = open_if([&](const auto& e) {
      return e.app_id != 0 && std::find(app_ids.begin(), app_ids.end(),
                                        e.app_id) != app_ids.end();
    });
    for (auto& session : doomed)
      session->revoke();
    return doomed.size();
  }

private:
  struct entry {
    std::weak_ptr<closable> session;
    int64_t app_id;
  };

  /// The live sessions whose entry matches, taken under the lock and acted
  /// on outside it: a session that ends removes itself.
  template <class Pred>
  std::vector<std::shared_ptr<closable>> open_if(Pred pred) {
    std::vector<std::shared_ptr<closable>> open;
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& [id, e] : sessions_)
      if (pred(e))
        if (auto session = e.session.lock())
          open.push_back(std::move(session));
    return open;
  }

  mutable std::mutex mutex_;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, entry> sessions_;
};

} // namespace herald::net::detail
