#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace herald {

/// What the delivery side needs to know of an application party.
struct app_info {
  int64_t id = 0;
  std::string name;
  std::string token_secret;
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_channels;
  bool disabled = false;
};

/// The apps by name, as last read from the database: read on every
/// connection attempt (any thread), replaced whole by the app refresher.
class app_directory {
public:
  using snapshot = std::map<std::string, app_info>;
  /// Told the ids of apps whose token secret changed (or that are gone):
  /// tokens signed with the old secret must no longer be trusted.
  using revocation_listener = std::function<void(std::vector<int64_t>)>;

  void replace(snapshot apps) {
    auto fresh = std::make_shared<const snapshot>(std::move(apps));
    std::shared_ptr<const snapshot> old;
    std::vector<revocation_listener> listeners;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      old = std::move(apps_);
      apps_ = fresh;
      listeners = listeners_;
    }
    loaded_ = true;
    // Compared outside the lock: listeners close sessions, which may read
    // the directory again.
    std::vector<int64_t> revoked;
    for (const auto& [name, before] : *old) {
      auto now = fresh->find(name);
      if (now == fresh->end() || now->second.id != before.id ||
          now->second.token_secret != before.token_secret)
        revoked.push_back(before.id);
    }
    if (!revoked.empty())
      for (const auto& listener : listeners)
        listener(revoked);
  }

  /// Whether the apps were read at least once; until then no token can be
  /// judged (the engine is starting).
  bool loaded() const { return loaded_; }

  /// Calls `listener` after every replace() that revoked secrets; for the
  /// life of this directory.
  void on_revocation(revocation_listener listener) const {
    std::lock_guard<std::mutex> guard{mutex_};
    listeners_.push_back(std::move(listener));
  }

  std::optional<app_info> find(const std::string& name) const {
    std::shared_ptr<const snapshot> apps;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      apps = apps_;
    }
    auto it = apps->find(name);
    if (it == apps->end())
      return std::nullopt;
    return it->second;
  }

  size_t size() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return apps_->size();
  }

private:
  mutable std::mutex mutex_;
  std::shared_ptr<const snapshot> apps_ = std::make_shared<const snapshot>();
  mutable std::vector<revocation_listener> listeners_;
  std::atomic<bool> loaded_{false};
};

} // namespace herald
