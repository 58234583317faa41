#include "webhook/keep_alive.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace backstop::webhook {
namespace {

class KeepAliveWait : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0); }
  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  int fds_[2] = {-1, -1};
};

TEST(KeepAlive, ReplacementIsTheOneTheLibraryCalls) {
  // The library resolves keep_alive through its PLT; the executable's definition must win.
  EXPECT_TRUE(KeepAliveWaitReplaced());
}

TEST_F(KeepAliveWait, ReadableSocketEndsTheWait) {
  ASSERT_EQ(::write(fds_[1], "P", 1), 1);
  EXPECT_TRUE(httplib::detail::keep_alive(fds_[0], 60));
}

TEST_F(KeepAliveWait, PeerCloseEndsTheWaitForTheReadToReport) {
  ::close(fds_[1]);
  fds_[1] = -1;
  EXPECT_TRUE(httplib::detail::keep_alive(fds_[0], 60));
  char c;
  EXPECT_EQ(::read(fds_[0], &c, 1), 0);  // EOF: the server closes the connection
}

TEST_F(KeepAliveWait, HalfClosedForDrainEndsTheWait) {
  // Server::Stop() ends idle connections with shutdown(SHUT_RD).
  ASSERT_EQ(::shutdown(fds_[0], SHUT_RD), 0);
  EXPECT_TRUE(httplib::detail::keep_alive(fds_[0], 60));
}

TEST_F(KeepAliveWait, IdleForTheWholeTimeoutIsFalse) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(httplib::detail::keep_alive(fds_[0], 1));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(KeepAliveWait, ZeroTimeoutIsFalse) { EXPECT_FALSE(httplib::detail::keep_alive(fds_[0], 0)); }

}  // namespace
}  // namespace backstop::webhook
