#pragma once

#include "core/app_directory.hpp"

#include <memory>
#include <string>

namespace herald::storage {

/// Reads herald.apps. Blocking; keeps one connection.
class app_catalog {
public:
  explicit app_catalog(std::string database_url);
  ~app_catalog();

  app_catalog(const app_catalog&) = delete;
  app_catalog& operator=(const app_catalog&) = delete;

  /// Every app by name; throws storage::error.
  app_directory::snapshot load();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
