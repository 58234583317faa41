// Go duration parsing and formatting. Expected values are what Go's time.ParseDuration,
// time.Duration.String and strconv.Atoi produce for the same inputs.

#include "policy/go_duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace backstop::policy {
namespace {

using std::chrono::nanoseconds;

constexpr int64_t kNs = 1;
constexpr int64_t kUs = 1000 * kNs;
constexpr int64_t kMs = 1000 * kUs;
constexpr int64_t kS = 1000 * kMs;
constexpr int64_t kM = 60 * kS;
constexpr int64_t kH = 60 * kM;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(GoDuration, ParsesWhatGoParses) {
  struct Case {
    const char* text;
    int64_t ns;
  };
  for (const Case& c : std::vector<Case>{
           {"0", 0},
           {"-0", 0},
           {"+0", 0},
           {"5s", 5 * kS},
           {"30s", 30 * kS},
           {"1478s", 1478 * kS},
           {"-5s", -5 * kS},
           {"+5s", 5 * kS},
           {"5.0s", 5 * kS},
           {"5.6s", 5 * kS + 600 * kMs},
           {"5.s", 5 * kS},
           {".5s", 500 * kMs},
           {"1.004s", 1 * kS + 4 * kMs},
           {"100.00100s", 100 * kS + 1 * kMs},
           {"10ns", 10 * kNs},
           {"11us", 11 * kUs},
           {"12\xC2\xB5s", 12 * kUs},  // U+00B5
           {"12\xCE\xBCs", 12 * kUs},  // U+03BC
           {"13ms", 13 * kMs},
           {"15m", 15 * kM},
           {"16h", 16 * kH},
           {"5m0s", 5 * kM},
           {"1h30m", 90 * kM},
           {"3h30m", 3 * kH + 30 * kM},
           {"10.5s4m", 4 * kM + 10 * kS + 500 * kMs},
           {"-2m3.4s", -(2 * kM + 3 * kS + 400 * kMs)},
           {"1h2m3s4ms5us6ns", 1 * kH + 2 * kM + 3 * kS + 4 * kMs + 5 * kUs + 6 * kNs},
           {"39h9m14.425s", 39 * kH + 9 * kM + 14 * kS + 425 * kMs},
           {"52763797000ns", 52763797000 * kNs},
           {"0.3333333333333333333h", 20 * kM},
           {"9007199254740993ns", (int64_t{1} << 53) + 1},
           {"9223372036854775807ns", kMax},
           {"9223372036854775.807us", kMax},
           {"9223372036s854ms775us807ns", kMax},
           {"-9223372036854775808ns", kMin},
           {"-9223372036854775.808us", kMin},
           {"-2562047h47m16.854775808s", kMin},
           {"0.100000000000000000000h", 6 * kM},
           {"0.830103483285477580700h", 49 * kM + 48 * kS + 372539827 * kNs},
       }) {
    SCOPED_TRACE(c.text);
    StatusOr<nanoseconds> d = ParseGoDuration(c.text);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(d->count(), c.ns);
  }
}

TEST(GoDuration, RejectsWhatGoRejects) {
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {"", "time: invalid duration \"\""},
           {"3", "time: missing unit in duration \"3\""},
           {"90", "time: missing unit in duration \"90\""},
           {"-", "time: invalid duration \"-\""},
           {"s", "time: invalid duration \"s\""},
           {".", "time: invalid duration \".\""},
           {"-.", "time: invalid duration \"-.\""},
           {".s", "time: invalid duration \".s\""},
           {"+.s", "time: invalid duration \"+.s\""},
           {" 5m", "time: invalid duration \" 5m\""},
           {"1d", "time: unknown unit \"d\" in duration \"1d\""},
           {"5M", "time: unknown unit \"M\" in duration \"5M\""},
           {"5m ", "time: unknown unit \"m \" in duration \"5m \""},
           {"5 minutes", "time: unknown unit \" minutes\" in duration \"5 minutes\""},
           {"\x85\x85", "time: invalid duration \"\\x85\\x85\""},
           {"\xff"
            "ff",
            "time: invalid duration \"\\xffff\""},  // byte 0xFF, then "ff"
           {"9223372036854775810ns", "time: invalid duration \"9223372036854775810ns\""},
           {"9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""},
           {"-9223372036854775809ns", "time: invalid duration \"-9223372036854775809ns\""},
           {"9223372036854776us", "time: invalid duration \"9223372036854776us\""},
           {"3000000h", "time: invalid duration \"3000000h\""},
           {"9223372036854775.808us", "time: invalid duration \"9223372036854775.808us\""},
           {"9223372036854ms775us808ns", "time: invalid duration \"9223372036854ms775us808ns\""},
       }) {
    SCOPED_TRACE(c.text);
    StatusOr<nanoseconds> d = ParseGoDuration(c.text);
    ASSERT_FALSE(d.ok()) << d->count();
    EXPECT_EQ(d.status().message(), c.error);
  }
}

TEST(GoDuration, FormatsLikeGo) {
  struct Case {
    int64_t ns;
    const char* text;
  };
  for (const Case& c : std::vector<Case>{
           {0, "0s"},
           {1 * kNs, "1ns"},
           {1100 * kNs, "1.1\xC2\xB5s"},
           {2200 * kUs, "2.2ms"},
           {3300 * kMs, "3.3s"},
           {4 * kM + 5 * kS, "4m5s"},
           {4 * kM + 5001 * kMs, "4m5.001s"},
           {5 * kH + 6 * kM + 7001 * kMs, "5h6m7.001s"},
           {8 * kM + 1 * kNs, "8m0.000000001s"},
           {5 * kM, "5m0s"},
           {kH, "1h0m0s"},
           {-5 * kM, "-5m0s"},
           {-1 * kNs, "-1ns"},
           {kMax, "2562047h47m16.854775807s"},
           {kMin, "-2562047h47m16.854775808s"},
       }) {
    EXPECT_EQ(FormatGoDuration(nanoseconds(c.ns)), c.text);
  }
}

TEST(GoDuration, FormatRoundTripsThroughParse) {
  for (int64_t ns : {int64_t{0}, 1 * kNs, 1500 * kUs, 90 * kS, 3 * kH + 1, kMax, kMin, -7 * kM}) {
    const std::string text = FormatGoDuration(nanoseconds(ns));
    StatusOr<nanoseconds> back = ParseGoDuration(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back->count(), ns) << text;
  }
}

TEST(GoDuration, ShortFormatDropsTrailingZeroUnits) {
  struct Case {
    int64_t ns;
    const char* text;
  };
  for (const Case& c : std::vector<Case>{
           {5 * kM, "5m"},
           {kH, "1h"},
           {kH + 5 * kM, "1h5m"},
           {kH + 30 * kS, "1h0m30s"},
           {90 * kS, "1m30s"},
           {30 * kS, "30s"},
           {10 * kS, "10s"},
           {10 * kM, "10m"},
           {0, "0s"},
           {500 * kMs, "500ms"},
           {-2 * kH, "-2h"},
       }) {
    EXPECT_EQ(FormatShortDuration(nanoseconds(c.ns)), c.text);
  }
}

TEST(GoAtoi, AcceptsSignedDecimalIntegersOnly) {
  EXPECT_EQ(*ParseGoAtoi("90"), 90);
  EXPECT_EQ(*ParseGoAtoi("+90"), 90);
  EXPECT_EQ(*ParseGoAtoi("-5"), -5);
  EXPECT_EQ(*ParseGoAtoi("007"), 7);
  EXPECT_EQ(*ParseGoAtoi("9223372036854775807"), kMax);
  EXPECT_EQ(*ParseGoAtoi("-9223372036854775808"), kMin);
  // Past int64 but within uint64, then a non-digit: Go's scan meets the non-digit first.
  for (const char* bad :
       {"", "+", "-", " 90", "90 ", "90s", "1_000", "0x10", "1.0", "1e3", "9223372036854775808x",
        "-9345884030195000000ns", "18446744073709551615s"}) {
    StatusOr<int64_t> r = ParseGoAtoi(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(),
              std::string("strconv.Atoi: parsing \"") + bad + "\": invalid syntax");
  }
  // Past uint64 before any non-digit: out of range, whatever follows.
  for (const char* big :
       {"9223372036854775808", "-9223372036854775809", "99999999999999999999",
        "18446744073709551616", "18446744073709551616s", "-99999999999999999999x"}) {
    StatusOr<int64_t> r = ParseGoAtoi(big);
    ASSERT_FALSE(r.ok()) << big;
    EXPECT_EQ(r.status().message(),
              std::string("strconv.Atoi: parsing \"") + big + "\": value out of range");
  }
}

TEST(KelosPollInterval, DurationFirstThenWholeSeconds) {
  StatusOr<KelosPollInterval> d = ParseKelosPollInterval("5m");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->value, std::chrono::minutes(5));
  EXPECT_FALSE(d->whole_seconds);

  StatusOr<KelosPollInterval> s = ParseKelosPollInterval("90");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->value, std::chrono::seconds(90));
  EXPECT_TRUE(s->whole_seconds);

  // "0" is a Go duration (zero), not whole seconds.
  StatusOr<KelosPollInterval> zero = ParseKelosPollInterval("0");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->value.count(), 0);
  EXPECT_FALSE(zero->whole_seconds);

  StatusOr<KelosPollInterval> negative = ParseKelosPollInterval("-30");
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->value, std::chrono::seconds(-30));

  StatusOr<KelosPollInterval> largest = ParseKelosPollInterval("9223372036");
  ASSERT_TRUE(largest.ok());
  EXPECT_EQ(largest->value, std::chrono::seconds(9223372036));
}

TEST(KelosPollInterval, ErrorsWhereKelosFallsBackToFiveMinutes) {
  EXPECT_FALSE(ParseKelosPollInterval("").ok());
  StatusOr<KelosPollInterval> words = ParseKelosPollInterval("5 minutes");
  ASSERT_FALSE(words.ok());
  EXPECT_EQ(words.status().message(), "time: unknown unit \" minutes\" in duration \"5 minutes\"");
  for (const char* bad : {"1d", "5M", "1.5", "0x1e", " 30", "9223372037", "-9223372037"}) {
    EXPECT_FALSE(ParseKelosPollInterval(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseKelosPollInterval("9223372037").status().message(),
            "9223372037 seconds overflows a Go time.Duration");
  EXPECT_EQ(kKelosDefaultPollInterval, std::chrono::minutes(5));
}

}  // namespace
}  // namespace backstop::policy
