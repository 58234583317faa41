#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "watcher/kube_client.h"

namespace backstop::watcher {

// Writes one Kubernetes Event (core/v1, type Warning) per classified pod and reason, so
// `kubectl describe pod` shows why backstop will refuse pods like it. Only the leader
// writes (is_leader), a pod+reason is recorded once (also across leadership changes of
// this process), and writes are rate-limited with a token bucket.
struct EventRecorderOptions {
  std::string component = "backstop";  // source.component / reportingController
  std::string instance;                // reportingInstance (pod name)
  double events_per_second = 1.0;      // token bucket refill
  int burst = 10;                      // bucket size
  size_t max_queue = 1000;             // findings waiting beyond this are dropped
  size_t max_remembered = 100000;      // pod+reason keys kept for de-duplication
};

struct PodEventRequest {
  std::string namespace_name;
  std::string pod;
  std::string uid;      // may be empty
  std::string reason;   // e.g. ErrImageNeverPull
  std::string message;  // kubelet's message as seen
};

// An Event about any object (a TaskSpawner whose work item was stopped, a Job...).
struct ObjectEventRequest {
  std::string api_version;  // of the involved object, e.g. "kelos.dev/v1alpha2"
  std::string kind;         // e.g. "TaskSpawner"
  std::string namespace_name;
  std::string name;
  std::string uid;      // may be empty
  std::string reason;   // e.g. RetryBudgetExhausted
  std::string message;  // complete (no remedy is appended)
  // Recorded once per key; empty: once per kind/namespace/name/reason.
  std::string dedup_key;
};

// The remedy sentence appended to an event message for `reason`.
std::string RemedyFor(const std::string& reason);

class EventRecorder {
 public:
  using WallNow = std::function<std::chrono::system_clock::time_point()>;
  using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

  EventRecorder(EventRecorderOptions options, KubeClient* client, std::function<bool()> is_leader,
                WallNow now = {}, SteadyNow steady = {});
  ~EventRecorder();

  // Queues an event unless this pod+reason was already recorded or queued.
  void Record(const PodEventRequest& request);
  // Queues an event about any object unless its dedup key was already recorded or queued.
  void RecordObject(const ObjectEventRequest& request);

  // Writes queued events while tokens last and this replica leads; returns the number
  // written. The thread started by Start() calls it; tests call it directly.
  int Flush();

  void Start();
  void Stop();

  size_t queued() const;

 private:
  bool Post(const ObjectEventRequest& r);

  const EventRecorderOptions options_;
  KubeClient* client_;
  std::function<bool()> is_leader_;
  WallNow now_;
  SteadyNow steady_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::deque<ObjectEventRequest> queue_;
  std::set<std::string> seen_;  // dedup keys recorded or queued
  double tokens_;
  std::chrono::steady_clock::time_point refilled_at_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace backstop::watcher
