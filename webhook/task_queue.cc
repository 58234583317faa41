#include "webhook/task_queue.h"

#include <thread>
#include <vector>

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
  std::thread worker([this] { Work(); });
  const std::thread::id id = worker.get_id();
  workers_.emplace(id, std::move(worker));
}

void ElasticTaskQueue::JoinRetired(std::unique_lock<std::mutex>& lock) {
  std::vector<std::thread> retired;
  retired.swap(retired_);
  lock.unlock();
  for (std::thread& t : retired) t.join();
  lock.lock();
}

void ElasticTaskQueue::enqueue(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mu_);
  tasks_.push_back(std::move(fn));
  if (tasks_.size() > idle_ && threads_ < max_threads_) SpawnLocked();
  work_cv_.notify_one();
  if (!retired_.empty()) JoinRetired(lock);
}

void ElasticTaskQueue::shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  shutdown_ = true;
  work_cv_.notify_all();
  done_cv_.wait(lock, [this] { return threads_ == 0; });
  // Joined, not just counted out: a worker may still be running its thread-exit
  // destructors (OpenSSL's per-thread state) after its last touch of the counters.
  JoinRetired(lock);
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
  auto self = workers_.find(std::this_thread::get_id());
  retired_.push_back(std::move(self->second));
  workers_.erase(self);
  if (threads_ == 0) done_cv_.notify_all();
}

}  // namespace backstop::webhook
