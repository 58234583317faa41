#include "watcher/backoff.h"

#include <gtest/gtest.h>

namespace backstop::watcher {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesUpToTheCapWithoutJitter) {
  Backoff b({milliseconds(100), milliseconds(1000), 2.0, 0.0}, [] { return 0.7; });
  EXPECT_EQ(b.Next(), milliseconds(100));
  EXPECT_EQ(b.Next(), milliseconds(200));
  EXPECT_EQ(b.Next(), milliseconds(400));
  EXPECT_EQ(b.Next(), milliseconds(800));
  EXPECT_EQ(b.Next(), milliseconds(1000));
  EXPECT_EQ(b.Next(), milliseconds(1000));
  EXPECT_EQ(b.attempts(), 6);
}

TEST(BackoffTest, JitterDrawsBelowTheNominalDelay) {
  double r = 0.0;
  Backoff b({milliseconds(1000), milliseconds(30000), 2.0, 0.5}, [&] { return r; });
  r = 0.0;
  EXPECT_EQ(b.Next(), milliseconds(1000));  // no reduction
  r = 0.999999;
  EXPECT_EQ(b.Next(), milliseconds(1000));  // 2000 halved (almost)
  r = 0.5;
  EXPECT_EQ(b.Next(), milliseconds(3000));  // 4000 - 25%
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff b({milliseconds(10), milliseconds(100), 2.0, 0.0}, [] { return 0.0; });
  b.Next();
  b.Next();
  b.Next();
  b.Reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_EQ(b.Next(), milliseconds(10));
}

TEST(BackoffTest, ManyFailuresStayAtTheCap) {
  Backoff b({milliseconds(800), milliseconds(30000), 2.0, 0.0}, [] { return 0.0; });
  for (int i = 0; i < 500; ++i) {
    const auto d = b.Next();
    EXPECT_LE(d, milliseconds(30000));
    EXPECT_GE(d, milliseconds(800));
  }
  EXPECT_EQ(b.Next(), milliseconds(30000));
}

TEST(BackoffTest, DefaultRandomStaysInRange) {
  Backoff b({milliseconds(1000), milliseconds(1000), 2.0, 0.5});
  for (int i = 0; i < 100; ++i) {
    const auto d = b.Next();
    EXPECT_GE(d, milliseconds(500));
    EXPECT_LE(d, milliseconds(1000));
  }
}

}  // namespace
}  // namespace backstop::watcher
