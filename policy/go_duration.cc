#include "policy/go_duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

namespace backstop::policy {
namespace {

// Magnitudes are accumulated unsigned; 2^63 is allowed only for a negative result.
constexpr uint64_t kTwoTo63 = uint64_t{1} << 63;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Quotes text as Go's time package does in its errors: bytes outside printable ASCII
// become \xNN, quote and backslash are escaped.
std::string GoQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if (b < 0x20 || b >= 0x80) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
      continue;
    }
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
  return out;
}

Status Invalid(std::string_view original) {
  return InvalidArgumentError("time: invalid duration " + GoQuote(original));
}

// Nanoseconds per unit; the table holds every spelling Go accepts.
bool UnitScale(std::string_view unit, uint64_t* scale) {
  static const std::array<std::pair<std::string_view, uint64_t>, 8> kUnits = {{
      {"ns", 1},
      {"us", 1000},
      {"\xC2\xB5s", 1000},  // U+00B5 MICRO SIGN
      {"\xCE\xBCs", 1000},  // U+03BC GREEK SMALL LETTER MU
      {"ms", 1000 * 1000},
      {"s", 1000 * 1000 * 1000},
      {"m", uint64_t{60} * 1000 * 1000 * 1000},
      {"h", uint64_t{3600} * 1000 * 1000 * 1000},
  }};
  for (const auto& [name, ns] : kUnits) {
    if (name == unit) {
      *scale = ns;
      return true;
    }
  }
  return false;
}

// Writes the decimal digits of v in front of position w of buf; returns the new start.
size_t PutInt(char* buf, size_t w, uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return w;
  }
  while (v > 0) {
    buf[--w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return w;
}

// Writes the fraction v/10^prec (trailing zeros and a bare point omitted) in front of w.
// Returns the new start and v/10^prec.
size_t PutFraction(char* buf, size_t w, uint64_t v, int prec, uint64_t* rest) {
  bool printed = false;
  for (int i = 0; i < prec; ++i) {
    const auto digit = static_cast<char>(v % 10);
    printed = printed || digit != 0;
    if (printed) buf[--w] = static_cast<char>('0' + digit);
    v /= 10;
  }
  if (printed) buf[--w] = '.';
  *rest = v;
  return w;
}

}  // namespace

StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  const std::string_view original = text;
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return Invalid(original);

  uint64_t total = 0;
  while (!text.empty()) {
    if (!(text.front() == '.' || IsDigit(text.front()))) return Invalid(original);

    // Whole part: overflow past 2^63 is an error.
    uint64_t whole = 0;
    size_t i = 0;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      if (whole > kTwoTo63 / 10) return Invalid(original);
      whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
      if (whole > kTwoTo63) return Invalid(original);
    }
    const bool has_whole = i > 0;
    text.remove_prefix(i);

    // Fraction: digits past what fits only stop adding precision.
    uint64_t fraction = 0;
    double fraction_scale = 1;
    bool has_fraction = false;
    if (!text.empty() && text.front() == '.') {
      text.remove_prefix(1);
      bool saturated = false;
      size_t j = 0;
      for (; j < text.size() && IsDigit(text[j]); ++j) {
        if (saturated) continue;
        if (fraction > (kTwoTo63 - 1) / 10) {
          saturated = true;
          continue;
        }
        const uint64_t next = fraction * 10 + static_cast<uint64_t>(text[j] - '0');
        if (next > kTwoTo63) {
          saturated = true;
          continue;
        }
        fraction = next;
        fraction_scale *= 10;
      }
      has_fraction = j > 0;
      text.remove_prefix(j);
    }
    if (!has_whole && !has_fraction) return Invalid(original);

    // Unit: everything up to the next digit or point.
    size_t u = 0;
    while (u < text.size() && !(text[u] == '.' || IsDigit(text[u]))) ++u;
    if (u == 0) return InvalidArgumentError("time: missing unit in duration " + GoQuote(original));
    const std::string_view unit = text.substr(0, u);
    text.remove_prefix(u);
    uint64_t scale = 0;
    if (!UnitScale(unit, &scale)) {
      return InvalidArgumentError("time: unknown unit " + GoQuote(unit) + " in duration " +
                                  GoQuote(original));
    }

    if (whole > kTwoTo63 / scale) return Invalid(original);
    uint64_t value = whole * scale;
    if (fraction > 0) {
      // Same double arithmetic as Go, so results agree to the nanosecond.
      value += static_cast<uint64_t>(static_cast<double>(fraction) *
                                     (static_cast<double>(scale) / fraction_scale));
      if (value > kTwoTo63) return Invalid(original);
    }
    total += value;
    if (total > kTwoTo63) return Invalid(original);
  }
  if (negative) {
    if (total == kTwoTo63) return std::chrono::nanoseconds(std::numeric_limits<int64_t>::min());
    return std::chrono::nanoseconds(-static_cast<int64_t>(total));
  }
  if (total > kTwoTo63 - 1) return Invalid(original);
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

StatusOr<int64_t> ParseGoAtoi(std::string_view text) {
  const std::string quoted = GoQuote(text);
  std::string_view digits = text;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty())
    return InvalidArgumentError("strconv.Atoi: parsing " + quoted + ": invalid syntax");
  const Status out_of_range =
      InvalidArgumentError("strconv.Atoi: parsing " + quoted + ": value out of range");
  uint64_t magnitude = 0;
  for (char c : digits) {
    // Like Go, the first problem met while scanning decides the error. Go scans in uint64
    // (strconv.ParseUint) and checks the int64 range only after the scan, so a value past
    // int64 but within uint64 followed by a non-digit is a syntax error.
    if (!IsDigit(c))
      return InvalidArgumentError("strconv.Atoi: parsing " + quoted + ": invalid syntax");
    const auto d = static_cast<uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - d) / 10) return out_of_range;
    magnitude = magnitude * 10 + d;
  }
  if (magnitude > (negative ? kTwoTo63 : kTwoTo63 - 1)) return out_of_range;
  if (negative) {
    if (magnitude == kTwoTo63) return std::numeric_limits<int64_t>::min();
    return -static_cast<int64_t>(magnitude);
  }
  return static_cast<int64_t>(magnitude);
}

std::string FormatGoDuration(std::chrono::nanoseconds d) {
  char buf[32];
  size_t w = sizeof(buf);
  const int64_t n = d.count();
  const bool negative = n < 0;
  // Magnitude without overflow for INT64_MIN.
  uint64_t u = negative ? uint64_t{0} - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);

  if (u < 1000000000) {
    // Sub-second: the largest unit that keeps a non-zero whole part.
    if (u == 0) return "0s";
    int prec = 0;
    buf[--w] = 's';
    --w;
    if (u < 1000) {
      buf[w] = 'n';
    } else if (u < 1000000) {
      // "µ" (U+00B5) is two bytes.
      buf[w] = '\xB5';
      buf[--w] = '\xC2';
      prec = 3;
    } else {
      buf[w] = 'm';
      prec = 6;
    }
    w = PutFraction(buf, w, u, prec, &u);
    w = PutInt(buf, w, u);
  } else {
    buf[--w] = 's';
    w = PutFraction(buf, w, u, 9, &u);
    w = PutInt(buf, w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = PutInt(buf, w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        w = PutInt(buf, w, u);
      }
    }
  }
  if (negative) buf[--w] = '-';
  return std::string(buf + w, sizeof(buf) - w);
}

std::string FormatShortDuration(std::chrono::nanoseconds d) {
  std::string s = FormatGoDuration(d);
  // Only whole-second results end in "m0s" / "h0m"; sub-second forms never do.
  const auto drop = [&s](std::string_view tail, char unit_before) {
    if (s.size() > tail.size() + 1 && s.compare(s.size() - tail.size(), tail.size(), tail) == 0 &&
        s[s.size() - tail.size() - 1] == unit_before) {
      s.resize(s.size() - tail.size());
    }
  };
  drop("0s", 'm');
  drop("0m", 'h');
  return s;
}

StatusOr<KelosPollInterval> ParseKelosPollInterval(std::string_view text) {
  if (text.empty()) return InvalidArgumentError("empty poll interval");
  StatusOr<std::chrono::nanoseconds> duration = ParseGoDuration(text);
  if (duration.ok()) return KelosPollInterval{*duration, false};
  StatusOr<int64_t> seconds = ParseGoAtoi(text);
  if (!seconds.ok()) return duration.status();
  constexpr int64_t kNanosPerSecond = 1000000000;
  if (*seconds > std::numeric_limits<int64_t>::max() / kNanosPerSecond ||
      *seconds < std::numeric_limits<int64_t>::min() / kNanosPerSecond) {
    return InvalidArgumentError(std::to_string(*seconds) + " seconds overflows a Go time.Duration");
  }
  return KelosPollInterval{std::chrono::nanoseconds(*seconds * kNanosPerSecond), true};
}

}  // namespace backstop::policy
