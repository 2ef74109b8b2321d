#pragma once

#include "core/metrics.hpp"

namespace herald::net {

/// A session's place in the herald_connections gauge: counted from open()
/// until close() or destruction, whichever comes first, exactly once.
class connection_count {
public:
  connection_count() = default;
  connection_count(const connection_count&) = delete;
  connection_count& operator=(const connection_count&) = delete;
  ~connection_count() { close(); }

  void open(const char* transport) {
    if (transport_ || closed_)
      return;
    transport_ = transport;
    metrics::connection_opened(transport);
  }

  void close() {
    if (transport_)
      metrics::connection_closed(transport_);
    transport_ = nullptr;
    closed_ = true;
  }

private:
  const char* transport_ = nullptr;
  bool closed_ = false;
};

} // namespace herald::net
