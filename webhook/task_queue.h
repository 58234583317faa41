#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace backstop::webhook {

// cpp-httplib runs one task per connection for the connection's whole keep-alive life,
// busy or idle, so a fixed pool starves new connections behind idle ones. This queue
// grows a thread for each connection that finds no idle worker, up to `max_threads`
// (beyond that, connections wait their turn), and lets surplus idle workers above
// `min_threads` exit after `idle_exit`.
class ElasticTaskQueue : public httplib::TaskQueue {
 public:
  struct Stats {
    size_t threads = 0;  // live worker threads
    size_t busy = 0;     // threads running a task (a connection)
    size_t queued = 0;   // tasks waiting for a thread
  };

  ElasticTaskQueue(size_t min_threads, size_t max_threads,
                   std::chrono::milliseconds idle_exit = std::chrono::seconds(60));
  ~ElasticTaskQueue() override;

  void enqueue(std::function<void()> fn) override;
  // Runs every queued task, then joins all workers.
  void shutdown() override;

  Stats stats() const;

 private:
  void SpawnLocked();
  // Joins the workers that have left Work(), with `lock` released meanwhile.
  void JoinRetired(std::unique_lock<std::mutex>& lock);
  void Work();

  const size_t min_threads_;
  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<std::function<void()>> tasks_;
  std::unordered_map<std::thread::id, std::thread> workers_;  // running Work()
  std::vector<std::thread> retired_;  // left Work(); joined by the next enqueue or shutdown
  size_t threads_ = 0;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace backstop::webhook
