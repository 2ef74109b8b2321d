#pragma once

#include "storage/log_source.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace herald::storage {

/// Reads the stream log in position order from the database: what every
/// engine's tailer does after each wake-up. Blocking: run it in a detached
/// actor. Keeps one connection, reopened after it breaks.
class log_reader : public log_source {
public:
  explicit log_reader(std::string database_url);
  ~log_reader() override;

  log_reader(const log_reader&) = delete;
  log_reader& operator=(const log_reader&) = delete;

  int64_t head() override;
  log_batch read_after(int64_t after, int64_t max_positions) override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
