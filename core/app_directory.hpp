#pragma once

#include <cstdint>
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

  void replace(snapshot apps) {
    auto fresh = std::make_shared<const snapshot>(std::move(apps));
    std::lock_guard<std::mutex> guard{mutex_};
    apps_ = std::move(fresh);
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
};

} // namespace herald
