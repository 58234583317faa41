#include "webhook/task_queue.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

namespace backstop::webhook {
namespace {

// Threads of this process as the kernel lists them: a thread that has left its function
// but is still running its thread-exit destructors is still here.
size_t ProcessThreads() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

// Tasks that hold their worker until released, as a kept-alive connection does.
class Gate {
 public:
  void Enter() {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    ++ran_;
  }
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int ran() {
    std::lock_guard<std::mutex> lock(mu_);
    return ran_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  int ran_ = 0;
  bool open_ = false;
};

TEST(ElasticTaskQueue, GrowsOneWorkerPerHeldTask) {
  Gate gate;
  ElasticTaskQueue queue(2, 16);
  for (int i = 0; i < 6; ++i) queue.enqueue([&] { gate.Enter(); });
  gate.WaitEntered(6);  // six tasks running at once: none waits behind another
  EXPECT_EQ(queue.stats().threads, 6u);
  EXPECT_EQ(queue.stats().busy, 6u);
  gate.Open();
  queue.shutdown();
  EXPECT_EQ(gate.ran(), 6);
}

TEST(ElasticTaskQueue, CapQueuesTheRest) {
  Gate gate;
  ElasticTaskQueue queue(1, 3);
  for (int i = 0; i < 5; ++i) queue.enqueue([&] { gate.Enter(); });
  gate.WaitEntered(3);
  EXPECT_EQ(queue.stats().threads, 3u);
  EXPECT_EQ(queue.stats().queued, 2u);
  gate.Open();
  queue.shutdown();  // runs the queued ones too
  EXPECT_EQ(gate.ran(), 5);
}

TEST(ElasticTaskQueue, ShutdownJoinsEveryWorker) {
  const size_t before = ProcessThreads();
  Gate gate;
  {
    ElasticTaskQueue queue(2, 16);
    for (int i = 0; i < 8; ++i) queue.enqueue([&] { gate.Enter(); });
    gate.WaitEntered(8);
    EXPECT_GE(ProcessThreads(), before + 8);
    gate.Open();
    queue.shutdown();
    // Joined, not merely counted out: no worker may outlive shutdown(), or one still
    // running its thread-exit destructors races the process's own exit.
    EXPECT_LE(ProcessThreads(), before);
  }
  EXPECT_EQ(gate.ran(), 8);
}

}  // namespace
}  // namespace backstop::webhook
