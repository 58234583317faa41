// Differential test of the Go-duration parsers against Go itself: every string of a
// generated corpus is given to ParseGoDuration, FormatGoDuration, ParseGoAtoi and
// ParseKelosPollInterval and, in one batch, to Go 1.19's time.ParseDuration,
// time.Duration.String and strconv.Atoi (tests/oracles/go_duration). Verdicts, values and
// error messages must agree; the few accepted differences are listed below, each with its
// reason, and counted.

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "policy/go_duration.h"
#include "tests/support/oracle.h"

namespace backstop::policy {
namespace {

using backstop::testing::CorpusDivisor;
using backstop::testing::HexDecode;
using backstop::testing::HexEncode;
using backstop::testing::RunOracle;
using backstop::testing::SplitTabs;

// ---- the corpus ----

constexpr uint64_t kSeed = 0x60d0a7c1e5ULL;

const std::vector<std::string> kUnits = {"ns", "us", "\xC2\xB5s", "\xCE\xBCs", "ms", "s", "m", "h"};
// Near misses of units, and bytes a unit is made of.
const std::vector<std::string> kBadUnits = {"",
                                            "S",
                                            "H",
                                            "M",
                                            "sec",
                                            "hr",
                                            "mins",
                                            "Ms",
                                            "nS",
                                            "u",
                                            "\xC2\xB5",
                                            "\xCE",
                                            "\xC2\xB5",
                                            "\xB5s",
                                            "\xCE\xBC",
                                            "mss",
                                            "ss",
                                            " s",
                                            "s ",
                                            "d",
                                            "w",
                                            "y",
                                            "\xE2\x80\x8Bs",
                                            std::string("\x00s", 2),
                                            "\xFF",
                                            "\xC2\xB5S",
                                            "\x7F",
                                            "_",
                                            "e3s",
                                            "ns\xC2"};

// Values that sit on int64's edge in every unit: floor(2^63 / scale) and its neighbours.
std::vector<std::string> BoundaryTexts() {
  const std::vector<std::pair<std::string, uint64_t>> scales = {
      {"ns", 1},         {"us", 1000},          {"ms", 1000000},
      {"s", 1000000000}, {"m", 60000000000ULL}, {"h", 3600000000000ULL}};
  std::vector<std::string> out = {
      "9223372036854775807ns",
      "9223372036854775808ns",
      "-9223372036854775808ns",
      "-9223372036854775809ns",
      "2562047h47m16.854775807s",
      "2562047h47m16.854775808s",
      "-2562047h47m16.854775808s",
      "-2562047h47m16.854775809s",
      "2562047h47m16.8547758075s",
      "2562047.788015215h",
      "2562047.7880152155h",
      "153722867m16.854775807s",
      "9223372036.854775807s",
      "9223372036.854775808s",
      "-9223372036.854775808s",
      "9223372036854775.807us",
      "9223372036854.775807ms",
      "9223372036854.775808ms",
      "18446744073709551615ns",
      "18446744073709551616ns",
      "99999999999999999999ns",
      "0.000000001ns",
      "0.9ns",
      "1.9999999999999999999ns",
      "0.0000000000000000000000001h",
      "1.00000000000000000000000000000000001s",
      "9223372036854775807",
      "9223372036854775808",
      "-9223372036854775808",
      "-9223372036854775809",
      "18446744073709551615",
      "18446744073709551616",
      "9300000000000000000x",
      "19000000000000000000x",
      "-9300000000000000000x",
      "9223372036",
      "9223372037",
      "-9223372036",
      "-9223372037",
      "0",
      "-0",
      "+0",
      "",
      "+",
      "-",
      ".",
      "-.s",
      ".s",
      "s",
      "0.",
      "00",
      "0s0",
      "1.2.3s",
      "1..2s",
      "--5s",
      "+-5s",
      " 5s",
      "5s ",
      "5 s",
      "1_000s",
      "0x10s",
      "1e3s",
      "\xEF\xBC\x95s",  // a fullwidth digit 5
      "\xD9\xA5s",      // an Arabic-Indic digit 5
  };
  for (const auto& [unit, scale] : scales) {
    const uint64_t limit = (uint64_t{1} << 63) / scale;
    for (int64_t delta = -2; delta <= 2; ++delta) {
      const std::string n = std::to_string(limit + static_cast<uint64_t>(delta));
      out.push_back(n + unit);
      out.push_back("-" + n + unit);
      out.push_back(n + ".5" + unit);
      out.push_back(n + ".999999999999" + unit);
    }
  }
  return out;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Below(100) < static_cast<size_t>(percent); }

  std::string Digits(size_t max_len) {
    const size_t len = Below(max_len + 1);
    std::string s;
    for (size_t i = 0; i < len; ++i) s += static_cast<char>('0' + Below(10));
    // Long runs of leading zeros and nines reach the overflow checks.
    if (Chance(5)) s = std::string(Below(30), '0') + s;
    if (Chance(5)) s += std::string(Below(25), '9');
    return s;
  }

  std::string Number() {
    std::string s = Digits(Chance(80) ? 4 : 22);
    if (Chance(35)) s += "." + Digits(Chance(80) ? 4 : 30);
    return s;
  }

  std::string Unit() {
    if (Chance(92)) return kUnits[Below(kUnits.size())];
    return kBadUnits[Below(kBadUnits.size())];
  }

  // sign? (number unit)+, mostly valid.
  std::string Duration() {
    std::string s;
    if (Chance(20)) s += Chance(70) ? "-" : "+";
    const size_t terms = 1 + Below(Chance(85) ? 3 : 8);
    for (size_t i = 0; i < terms; ++i) s += Number() + Unit();
    if (Chance(3)) s = Number();  // no unit at all
    return s;
  }

  // A signed integer: the strconv.Atoi side and kelos' whole seconds.
  std::string Integer() {
    std::string s;
    if (Chance(30)) s += Chance(60) ? "-" : "+";
    s += Digits(Chance(70) ? 10 : 22);
    if (Chance(8)) s.insert(Below(s.size() + 1), 1, "x _.e\t"[Below(6)]);
    return s;
  }

  // Any int64 nanosecond count, spread over every magnitude, for Duration.String.
  std::string Nanoseconds() {
    const int bits = static_cast<int>(Below(64));
    uint64_t v = rng_() >> (63 - bits);
    if (bits == 63 && Chance(50)) v = uint64_t{1} << 63;
    const bool negative = Chance(40);
    if (!negative && v == uint64_t{1} << 63) --v;
    // Round values (whole seconds, minutes, hours) take the short forms.
    const std::vector<uint64_t> rounders = {1,          1000,           1000000,
                                            1000000000, 60000000000ULL, 3600000000000ULL};
    if (Chance(40)) v -= v % rounders[Below(rounders.size())];
    return (negative && v != 0 ? "-" : "") + std::to_string(v) + "ns";
  }

  // One random edit of `s`: an inserted, deleted, replaced or duplicated byte.
  std::string Mutate(std::string s) {
    static const std::string kBytes =
        std::string("0123456789.+-smhnu \t_xe\xc2\xb5\xce\xbc\x7f\x80\xff") + '\0';
    const size_t edits = 1 + Below(3);
    for (size_t e = 0; e < edits; ++e) {
      const size_t at = Below(s.size() + 1);
      const char b = kBytes[Below(kBytes.size())];
      switch (Below(4)) {
        case 0:
          s.insert(at, 1, b);
          break;
        case 1:
          if (at < s.size()) s.erase(at, 1);
          break;
        case 2:
          if (at < s.size()) s[at] = b;
          break;
        default:
          if (at < s.size()) s.insert(at, s.substr(at, 1 + Below(4)));
          break;
      }
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

std::vector<std::string> Corpus(size_t size) {
  Generator g(kSeed);
  std::vector<std::string> corpus = BoundaryTexts();
  std::set<std::string> seen(corpus.begin(), corpus.end());
  while (corpus.size() < size) {
    std::string s;
    switch (g.Below(10)) {
      case 0:
      case 1:
      case 2:
        s = g.Duration();
        break;
      case 3:
        s = g.Integer();
        break;
      case 4:
        s = g.Nanoseconds();
        break;
      case 5:
        s = g.Mutate(corpus[g.Below(corpus.size())]);
        break;
      default:
        s = g.Mutate(g.Duration());
        break;
    }
    if (s.find('\n') != std::string::npos) continue;  // one input per line
    if (seen.insert(s).second) corpus.push_back(std::move(s));
  }
  return corpus;
}

// ---- Go's answers ----

struct GoAnswer {
  bool duration_ok = false;
  int64_t duration = 0;
  std::string duration_string;  // Duration.String()
  std::string duration_error;
  bool atoi_ok = false;
  int64_t atoi = 0;
  std::string atoi_error;
};

bool ParseAnswer(const std::string& line, GoAnswer* a) {
  const auto f = SplitTabs(line);
  if (f.size() != 5) return false;
  a->duration_ok = f[0] == "ok";
  if (a->duration_ok) {
    a->duration = std::stoll(std::string(f[1]));
    a->duration_string = std::string(f[2]);
  } else {
    a->duration_error = HexDecode(f[2]).value_or("?");
  }
  a->atoi_ok = f[3] == "ok";
  if (a->atoi_ok) {
    a->atoi = std::stoll(std::string(f[4]));
  } else {
    a->atoi_error = HexDecode(f[4]).value_or("?");
  }
  return true;
}

// ---- comparison, with the accepted differences ----

// The accepted differences, by name. Anything else fails the test.
//
// kAtoiMessageQuoting: strconv.Atoi quotes its input with strconv.Quote (\t, \n, \u00e9
//   escapes, printable Unicode kept); ParseGoAtoi quotes it as the time package does (every
//   byte outside printable ASCII as \xNN). Same verdict, same value, same error kind
//   ("invalid syntax" / "value out of range"); only the quoted input is spelled
//   differently, and only when it holds a byte outside printable ASCII. ParseGoAtoi's
//   message is not shown to users (ParseKelosPollInterval reports the duration error).
// kKelosEmpty: kelos treats an empty poll interval as unset (5m); ParseKelosPollInterval
//   refuses it, and its callers treat "" as unset before asking.
// kKelosUnreadable: kelos silently uses 5m for a poll interval it cannot read;
//   ParseKelosPollInterval refuses it with time.ParseDuration's own message (that is the
//   point of the validating rule).
// kKelosWrapsAround: kelos multiplies whole seconds by time.Second without an overflow
//   check, so beyond ±9223372036 s it uses a wrapped-around value; ParseKelosPollInterval
//   refuses those.
enum class Accepted { kAtoiMessageQuoting, kKelosEmpty, kKelosUnreadable, kKelosWrapsAround };

const char* Name(Accepted a) {
  switch (a) {
    case Accepted::kAtoiMessageQuoting:
      return "AtoiMessageQuoting";
    case Accepted::kKelosEmpty:
      return "KelosEmpty";
    case Accepted::kKelosUnreadable:
      return "KelosUnreadable";
    case Accepted::kKelosWrapsAround:
      return "KelosWrapsAround";
  }
  return "?";
}

bool OutsidePrintableAscii(const std::string& s) {
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b > 0x7e) return true;
  }
  return false;
}

// "strconv.Atoi: parsing <quoted>: <kind>" -> <kind>.
std::string AtoiErrorKind(const std::string& message) {
  const size_t colon = message.rfind(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

struct Tally {
  size_t compared = 0;
  std::map<std::string, size_t> accepted;
  std::vector<std::string> disagreements;

  void Disagree(const std::string& input, const std::string& what) {
    disagreements.push_back("input \"" + HexEncode(input) + "\" (hex): " + what);
  }
};

void Compare(const std::string& input, const GoAnswer& go, Tally* t) {
  ++t->compared;
  // time.ParseDuration and Duration.String.
  const StatusOr<std::chrono::nanoseconds> d = ParseGoDuration(input);
  if (d.ok() != go.duration_ok) {
    t->Disagree(input, std::string("ParseGoDuration ") + (d.ok() ? "accepts" : "rejects") +
                           ", Go " +
                           (go.duration_ok ? "accepts" : "rejects: " + go.duration_error));
  } else if (d.ok()) {
    if (d->count() != go.duration) {
      t->Disagree(input, "ParseGoDuration " + std::to_string(d->count()) + " ns, Go " +
                             std::to_string(go.duration));
    }
    if (FormatGoDuration(*d) != go.duration_string) {
      t->Disagree(input, "FormatGoDuration \"" + FormatGoDuration(*d) + "\", Go \"" +
                             go.duration_string + "\"");
    }
  } else if (d.status().message() != go.duration_error) {
    t->Disagree(input, "ParseGoDuration says \"" + d.status().message() + "\", Go \"" +
                           go.duration_error + "\"");
  }

  // strconv.Atoi.
  const StatusOr<int64_t> n = ParseGoAtoi(input);
  if (n.ok() != go.atoi_ok) {
    t->Disagree(input, std::string("ParseGoAtoi ") + (n.ok() ? "accepts" : "rejects") + ", Go " +
                           (go.atoi_ok ? "accepts" : "rejects: " + go.atoi_error));
  } else if (n.ok() && *n != go.atoi) {
    t->Disagree(input, "ParseGoAtoi " + std::to_string(*n) + ", Go " + std::to_string(go.atoi));
  } else if (!n.ok() && n.status().message() != go.atoi_error) {
    if (OutsidePrintableAscii(input) &&
        AtoiErrorKind(n.status().message()) == AtoiErrorKind(go.atoi_error)) {
      ++t->accepted[Name(Accepted::kAtoiMessageQuoting)];
    } else {
      t->Disagree(
          input, "ParseGoAtoi says \"" + n.status().message() + "\", Go \"" + go.atoi_error + "\"");
    }
  }

  // kelos' spawner: time.ParseDuration, else strconv.Atoi seconds, else 5m.
  const StatusOr<KelosPollInterval> k = ParseKelosPollInterval(input);
  if (input.empty()) {
    if (k.ok()) {
      t->Disagree(input, "ParseKelosPollInterval accepts the empty string");
    } else {
      ++t->accepted[Name(Accepted::kKelosEmpty)];
    }
  } else if (go.duration_ok) {
    if (!k.ok() || k->whole_seconds || k->value.count() != go.duration) {
      t->Disagree(input, "ParseKelosPollInterval differs from time.ParseDuration's " +
                             std::to_string(go.duration) + " ns");
    }
  } else if (go.atoi_ok) {
    constexpr int64_t kSecond = 1000000000;
    const bool fits = go.atoi <= std::numeric_limits<int64_t>::max() / kSecond &&
                      go.atoi >= std::numeric_limits<int64_t>::min() / kSecond;
    if (fits) {
      if (!k.ok() || !k->whole_seconds || k->value.count() != go.atoi * kSecond) {
        t->Disagree(input, "ParseKelosPollInterval differs from " + std::to_string(go.atoi) +
                               " whole seconds");
      }
    } else if (k.ok()) {
      t->Disagree(input, "ParseKelosPollInterval accepts seconds that overflow");
    } else {
      ++t->accepted[Name(Accepted::kKelosWrapsAround)];
    }
  } else {
    if (k.ok()) {
      t->Disagree(input, "ParseKelosPollInterval accepts what kelos cannot read");
    } else if (k.status().message() != go.duration_error) {
      t->Disagree(input, "ParseKelosPollInterval says \"" + k.status().message() +
                             "\", time.ParseDuration \"" + go.duration_error + "\"");
    } else {
      ++t->accepted[Name(Accepted::kKelosUnreadable)];
    }
  }
}

TEST(GoDurationOracle, AgreesWithGoOnAGeneratedCorpus) {
  const size_t size = 300000 / CorpusDivisor();
  const std::vector<std::string> corpus = Corpus(size);
  std::vector<std::string> lines;
  lines.reserve(corpus.size());
  for (const auto& s : corpus) lines.push_back(HexEncode(s));
  const auto answers = RunOracle("go_duration", lines);
  ASSERT_TRUE(answers.has_value());

  Tally t;
  size_t go_durations = 0;
  size_t go_integers = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    GoAnswer a;
    ASSERT_TRUE(ParseAnswer((*answers)[i], &a)) << "oracle line: " << (*answers)[i];
    go_durations += a.duration_ok ? 1 : 0;
    go_integers += a.atoi_ok ? 1 : 0;
    Compare(corpus[i], a, &t);
  }

  std::cout << "  go_duration oracle: " << t.compared << " strings (seed 0x" << std::hex << kSeed
            << std::dec << "; time.ParseDuration accepts " << go_durations
            << ", strconv.Atoi accepts " << go_integers << "), " << t.disagreements.size()
            << " disagreements\n";
  for (const auto& [name, count] : t.accepted) {
    std::cout << "  accepted difference " << name << ": " << count << "\n";
  }
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < t.disagreements.size() && i < kShown; ++i) {
    ADD_FAILURE() << t.disagreements[i];
  }
  EXPECT_EQ(t.disagreements.size(), 0u);
  // The corpus reaches both sides of every parser.
  EXPECT_GT(go_durations, corpus.size() / 5);
  EXPECT_LT(go_durations, corpus.size() * 4 / 5);
  EXPECT_GT(go_integers, corpus.size() / 20);
  EXPECT_GT(t.accepted[Name(Accepted::kKelosWrapsAround)], 0u);
}

}  // namespace
}  // namespace backstop::policy
