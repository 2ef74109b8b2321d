#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

/// One preference row that applies to the web channel ("web" or "*").
struct web_preference {
  std::string message_type = "*"; ///< "*" matches every type
  std::string channel = "*";      ///< "web" or "*"
  bool enabled = true;
  /// Quiet hours in the user's local time, minutes after midnight; -1 for
  /// none. The window may wrap midnight (22:00-07:00).
  int quiet_start = -1;
  int quiet_end = -1;
  /// At most this many messages of a type per clock hour (UTC); 0: no cap.
  int hourly_cap = 0;
};

/// How many messages of a type a user's feed held in one clock hour
/// (hours since the epoch), for the hourly cap.
struct cap_count {
  std::string message_type;
  int64_t hour = 0;
  int64_t count = 0;
};

/// What happens to a web message for one user. The same rules are applied
/// in SQL when history is read (herald.feed, schema/0008): both must agree.
enum class web_verdict {
  deliver,
  /// Committed during the user's quiet hours: delivered, marked silent (no
  /// badge, no sound); critical messages are never silent.
  silent,
  /// The user opted out of this type on the web: left out of the feed.
  opted_out,
  /// Past the hourly cap of its type: left out of the feed.
  over_cap,
};

/// A user's web preferences, decided per message, in position order.
class web_policy {
public:
  web_policy() = default;
  web_policy(std::vector<web_preference> preferences, int utc_offset_seconds)
    : preferences_(std::move(preferences)),
      utc_offset_seconds_(utc_offset_seconds) {}

  /// The verdict for the next message of the feed, of `message_type` and
  /// `priority`, committed at `created_unix` (seconds since the epoch).
  /// Counts it towards its type's hourly cap: a message is past the cap
  /// when the feed already had `hourly_cap` of its type in its clock hour,
  /// whatever their own verdicts (so the rule needs no history of
  /// verdicts, and SQL can apply it to any page of history).
  web_verdict decide(std::string_view message_type, std::string_view priority,
                     double created_unix);

  /// Whether some preference caps a type: the counts of the feed so far
  /// must then be given with seed() before the first decide().
  bool has_caps() const;

  /// The feed's counts per type and hour up to where decisions start.
  void seed(const std::vector<cap_count>& counts);

private:
  /// The most specific row for the type: (type, web), (type, *), (*, web),
  /// (*, *); null when none applies.
  const web_preference* match(std::string_view message_type) const;

  std::vector<web_preference> preferences_;
  int utc_offset_seconds_ = 0;
  /// Messages seen per (type, hour); only hours still relevant are kept.
  std::vector<cap_count> counts_;
};

/// Whether local minute-of-day `minute` is inside [start, end), which may
/// wrap midnight; an empty or unset window contains nothing.
bool in_quiet_window(int minute, int start, int end);

} // namespace herald
