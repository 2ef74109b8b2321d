#include "core/web_policy.hpp"

#include <algorithm>
#include <cmath>

namespace herald {

bool in_quiet_window(int minute, int start, int end) {
  if (start < 0 || end < 0 || start == end)
    return false;
  if (start < end)
    return minute >= start && minute < end;
  return minute >= start || minute < end;
}

const web_preference* web_policy::match(std::string_view message_type) const {
  const web_preference* best = nullptr;
  int best_rank = 4;
  for (const auto& p : preferences_) {
    bool type_exact = p.message_type == message_type;
    if (!type_exact && p.message_type != "*")
      continue;
    if (p.channel != "web" && p.channel != "*")
      continue;
    // Lower is more specific: the type counts before the channel.
    int rank = (type_exact ? 0 : 2) + (p.channel == "web" ? 0 : 1);
    if (rank < best_rank) {
      best = &p;
      best_rank = rank;
    }
  }
  return best;
}

bool web_policy::has_caps() const {
  for (const auto& p : preferences_)
    if (p.hourly_cap > 0)
      return true;
  return false;
}

void web_policy::seed(const std::vector<cap_count>& counts) {
  counts_ = counts;
}

web_verdict web_policy::decide(std::string_view message_type,
                               std::string_view priority, double created_unix) {
  auto pref = match(message_type);
  if (!pref)
    return web_verdict::deliver;
  if (!pref->enabled)
    return web_verdict::opted_out;
  if (pref->hourly_cap > 0) {
    auto hour = static_cast<int64_t>(std::floor(created_unix / 3600));
    cap_count* slot = nullptr;
    for (auto& c : counts_)
      if (c.hour == hour && c.message_type == message_type)
        slot = &c;
    if (!slot) {
      // Hours more than one behind this message no longer matter.
      counts_.erase(std::remove_if(
                      counts_.begin(), counts_.end(),
                      [hour](const cap_count& c) { return c.hour < hour - 1; }),
                    counts_.end());
      counts_.push_back({std::string{message_type}, hour, 0});
      slot = &counts_.back();
    }
    auto earlier = slot->count++;
    if (earlier >= pref->hourly_cap)
      return web_verdict::over_cap;
  }
  if (priority == "critical")
    return web_verdict::deliver;
  auto local = std::floor(created_unix) + utc_offset_seconds_;
  auto seconds_of_day = std::fmod(std::fmod(local, 86400.0) + 86400.0, 86400.0);
  auto minute = static_cast<int>(seconds_of_day / 60);
  return in_quiet_window(minute, pref->quiet_start, pref->quiet_end)
           ? web_verdict::silent
           : web_verdict::deliver;
}

} // namespace herald
