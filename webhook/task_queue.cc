#include "webhook/task_queue.h"

#include <thread>

namespace backstop::webhook {

ElasticTaskQueue::ElasticTaskQueue(size_t min_threads, size_t max_threads,
                                   std::chrono::milliseconds idle_exit)
    : min_threads_(min_threads),
      max_threads_(max_threads < 1 ? 1 : max_threads),
      idle_exit_(idle_exit) {
  std::lock_guard<std::mutex> lock(mu_);
  while (threads_ < min_threads_ && threads_ < max_threads_) SpawnLocked();
}

ElasticTaskQueue::~ElasticTaskQueue() { shutdown(); }

void ElasticTaskQueue::SpawnLocked() {
  ++threads_;
  ++idle_;
  std::thread([this] { Work(); }).detach();
}

void ElasticTaskQueue::enqueue(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(std::move(fn));
  if (tasks_.size() > idle_ && threads_ < max_threads_) SpawnLocked();
  work_cv_.notify_one();
}

void ElasticTaskQueue::shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  shutdown_ = true;
  work_cv_.notify_all();
  done_cv_.wait(lock, [this] { return threads_ == 0; });
}

ElasticTaskQueue::Stats ElasticTaskQueue::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{threads_, threads_ - idle_, tasks_.size()};
}

void ElasticTaskQueue::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (tasks_.empty()) {
      if (shutdown_) break;
      bool woke =
          work_cv_.wait_for(lock, idle_exit_, [this] { return shutdown_ || !tasks_.empty(); });
      if (!woke && threads_ > min_threads_) break;  // surplus idle worker retires
      continue;
    }
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    --idle_;
    lock.unlock();
    task();
    task = nullptr;
    lock.lock();
    ++idle_;
  }
  --idle_;
  --threads_;
  if (threads_ == 0) done_cv_.notify_all();
}

}  // namespace backstop::webhook
