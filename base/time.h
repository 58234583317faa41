#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace backstop {

using WallTime = std::chrono::system_clock::time_point;

// Parses an RFC 3339 timestamp as Kubernetes writes it ("2019-04-04T16:06:56Z", optional
// fraction and numeric offset); nullopt for anything else (including impossible dates).
std::optional<WallTime> ParseTimestamp(std::string_view text);

// "2026-11-25T10:02:11Z": RFC 3339 in UTC, whole seconds (metav1.Time).
std::string FormatTimestamp(WallTime t);

// "2026-11-25T10:02:11.000123Z": RFC 3339 in UTC with microseconds (metav1.MicroTime).
std::string FormatMicroTime(WallTime t);

}  // namespace backstop
