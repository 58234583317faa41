#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/status.h"

namespace backstop::policy {

// Parses a duration the way Go's time.ParseDuration does: an optional sign, then one or
// more decimal numbers (with optional fraction) each followed by a unit (ns, us, µs, μs,
// ms, s, m, h), e.g. "90s", "1h30m", "1.5h", "-5m". A lone "0" (optionally signed) is
// zero; anything else without a unit is an error. Values beyond int64 nanoseconds are
// errors. Error messages use Go's wording (`time: invalid duration "x"`).
StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// Parses a decimal integer the way Go's strconv.Atoi does on 64-bit platforms: an
// optional sign and at least one ASCII digit, nothing else, within int64.
StatusOr<int64_t> ParseGoAtoi(std::string_view text);

// Formats a duration the way Go's time.Duration.String does: "0s", "1.5s", "5m0s",
// "1h30m0s", "500ms", "-5m0s".
std::string FormatGoDuration(std::chrono::nanoseconds d);

// FormatGoDuration without trailing zero units, for messages: "5m", "1h", "1h5m", "1m30s",
// "30s", "0s".
std::string FormatShortDuration(std::chrono::nanoseconds d);

// How a kelos TaskSpawner poll interval string was read.
struct KelosPollInterval {
  std::chrono::nanoseconds value{0};
  bool whole_seconds = false;  // read as a plain integer number of seconds
};

// Reads a poll interval as the kelos spawner does: first as a Go duration, then as a
// plain integer of seconds. The spawner silently uses 5m for anything it cannot read;
// here that is an error. An empty string is an error too (callers treat "" as unset).
// Whole seconds whose nanosecond value would overflow int64 are errors (the spawner
// would wrap around).
StatusOr<KelosPollInterval> ParseKelosPollInterval(std::string_view text);

// The interval kelos uses when a poll interval is unset or unreadable.
inline constexpr std::chrono::nanoseconds kKelosDefaultPollInterval = std::chrono::minutes(5);

}  // namespace backstop::policy
