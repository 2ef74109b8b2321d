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
    if (transport_)
      return; // counted already, or closed
    transport_ = transport;
    metrics::connection_opened(transport);
  }

  void close() {
    if (transport_ && transport_ != &closed_mark)
      metrics::connection_closed(transport_);
    transport_ = &closed_mark;
  }

private:
  /// Marks a count that ended: never counted again.
  static constexpr char closed_mark{};
  /// The transport counted; none before open(), &closed_mark after
  /// close() (one pointer: every connection holds one).
  const char* transport_ = nullptr;
};

} // namespace herald::net
