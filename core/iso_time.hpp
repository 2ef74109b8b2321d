#pragma once

#include <optional>
#include <string_view>

namespace herald {

/// Seconds since the epoch of a UTC timestamp as the engine writes them
/// ("2026-11-22T04:41:00.707Z"; fractions optional); nullopt otherwise.
std::optional<double> parse_iso_utc(std::string_view text);

/// Now, as seconds since the epoch with sub-second precision.
double unix_seconds_now();

} // namespace herald
