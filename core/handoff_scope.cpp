#include "core/handoff_scope.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace herald {

namespace {

thread_local int depth = 0;
thread_local std::vector<void (*)()> deferred;

} // namespace

handoff_scope::handoff_scope() {
  ++depth;
}

handoff_scope::~handoff_scope() {
  if (--depth > 0)
    return;
  // No scope is open while they run: whatever a flush defers is made at
  // once.
  for (auto flush : std::exchange(deferred, {}))
    flush();
}

bool handoff_scope::open() {
  return depth > 0;
}

void handoff_scope::defer(void (*flush)()) {
  if (depth == 0) {
    flush();
    return;
  }
  if (std::find(deferred.begin(), deferred.end(), flush) == deferred.end())
    deferred.push_back(flush);
}

} // namespace herald
