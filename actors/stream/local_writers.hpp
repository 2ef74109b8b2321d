#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

namespace herald::actors {

/// The database server processes of this engine's expanders, one slot per
/// expander, shared by them and the log listener. An expander hands the
/// entries of each commit to this engine's tailer in memory, so the log
/// notification of that commit is no wake-up here: the listener skips the
/// notifications these processes send. Another engine's expansions (other
/// processes) still wake the tailer; the listener's poll is the safety net
/// for a hand-over that never came (an expander that died between its
/// commit and its message).
class local_writers {
public:
  explicit local_writers(size_t slots) : pids_(slots) {}

  /// Expander `slot` now writes through server process `pid` (0: none).
  void set(size_t slot, int pid) {
    if (slot < pids_.size())
      pids_[slot].store(pid, std::memory_order_relaxed);
  }

  bool contains(int pid) const {
    if (pid == 0)
      return false;
    for (const auto& p : pids_)
      if (p.load(std::memory_order_relaxed) == pid)
        return true;
    return false;
  }

private:
  std::vector<std::atomic<int>> pids_;
};

} // namespace herald::actors
