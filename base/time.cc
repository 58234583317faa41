#include "base/time.h"

#include <cctype>
#include <cstdint>

namespace backstop {
namespace {

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// `value` in decimal, left-padded with zeros to `width`.
std::string Padded(int64_t value, size_t width) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return value < 0 ? "-" + digits : digits;
}

// "YYYY-MM-DDTHH:MM:SS" of `t` in UTC, and the sub-second part in microseconds.
std::string DateTime(WallTime t, int64_t* micros) {
  using namespace std::chrono;  // NOLINT(build/namespaces)
  const auto us = time_point_cast<microseconds>(t);
  const auto day = floor<days>(us);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> hms{us - day};
  *micros = hms.subseconds().count();
  return Padded(static_cast<int>(ymd.year()), 4) + "-" +
         Padded(static_cast<unsigned>(ymd.month()), 2) + "-" +
         Padded(static_cast<unsigned>(ymd.day()), 2) + "T" + Padded(hms.hours().count(), 2) + ":" +
         Padded(hms.minutes().count(), 2) + ":" + Padded(hms.seconds().count(), 2);
}

}  // namespace

std::optional<WallTime> ParseTimestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !ParseDigits(s, 0, 4, &y) || s[4] != '-' || !ParseDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ParseDigits(s, 11, 2, &h) || s[13] != ':' || !ParseDigits(s, 14, 2, &mi) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, &sec)) {
    return std::nullopt;
  }
  size_t i = 19;
  std::chrono::nanoseconds frac{0};
  if (i < s.size() && s[i] == '.') {
    ++i;
    int64_t scale = 100000000;
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      frac += std::chrono::nanoseconds((s[i] - '0') * scale);
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!ParseDigits(s, i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !ParseDigits(s, i + 4, 2, &om)) {
      return std::nullopt;
    }
    offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    if (s[i] == '-') offset = -offset;
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                        std::chrono::day(d)};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  auto tp = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
            std::chrono::seconds(sec) - offset;
  using Duration = WallTime::duration;
  return WallTime(std::chrono::duration_cast<Duration>(tp.time_since_epoch()) +
                  std::chrono::duration_cast<Duration>(frac));
}

std::string FormatTimestamp(WallTime t) {
  int64_t micros = 0;
  return DateTime(std::chrono::floor<std::chrono::seconds>(t), &micros) + "Z";
}

std::string FormatMicroTime(WallTime t) {
  int64_t micros = 0;
  const std::string date_time = DateTime(t, &micros);
  return date_time + "." + Padded(micros, 6) + "Z";
}

}  // namespace backstop
