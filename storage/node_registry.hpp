#pragma once

#include <memory>
#include <string>

namespace herald::storage {

/// Who this engine process is, as recorded in herald.nodes.
struct node_info {
  std::string id; ///< A UUID, new for every process start.
  std::string hostname;
  int pid = 0;
  std::string version;
  std::string listen; ///< host:port of the public listener.
};

/// Keeps this process's row in herald.nodes: upserted on every heartbeat (so
/// a node re-registers after a database restart) and deleted on shutdown.
/// Blocking: call it from a detached actor.
class node_registry {
public:
  node_registry(std::string database_url, node_info self);
  ~node_registry();

  node_registry(const node_registry&) = delete;
  node_registry& operator=(const node_registry&) = delete;

  /// Upserts the row with a fresh heartbeat; throws storage::error.
  void heartbeat();

  /// Deletes the row if the connection is up; errors are swallowed since the
  /// process is leaving (the stale heartbeat tells the rest).
  void unregister() noexcept;

  const node_info& self() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A random (version 4) UUID in its canonical text form.
std::string random_uuid();

} // namespace herald::storage
