#pragma once

#include "storage/migrations.hpp"

#include <memory>
#include <string>
#include <vector>

namespace herald::storage {

/// Answers "can the engine use its database?": reachable, and every bundled
/// migration applied. Keeps one connection and reopens it when it breaks.
/// Blocking: call it from a detached actor or a thread of its own.
class readiness_probe {
public:
  struct result {
    bool ready;
    std::string reason;
  };

  readiness_probe(std::string database_url, std::vector<migration> migrations);
  ~readiness_probe();

  readiness_probe(const readiness_probe&) = delete;
  readiness_probe& operator=(const readiness_probe&) = delete;

  result check();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
