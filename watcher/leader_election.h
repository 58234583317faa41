#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/time.h"
#include "watcher/kube_client.h"

namespace backstop::watcher {

// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: the
// holder renews spec.renewTime every `retry_period`; another candidate takes the lease
// over only when the record it observed has not changed for `lease_duration` (measured
// on its own clock, so clock skew between replicas does not matter); a leader that
// cannot renew within `renew_deadline` steps down. Updates carry the observed
// resourceVersion, so two candidates cannot both win (409 Conflict).
struct LeaderElectionOptions {
  std::string lease_namespace = "backstop-system";
  std::string lease_name = "backstop-events";
  std::string identity;                     // unique per replica (pod name)
  std::chrono::seconds lease_duration{15};  // client-go default
  std::chrono::seconds renew_deadline{10};
  std::chrono::seconds retry_period{2};
};

class LeaderElector {
 public:
  using WallNow = std::function<std::chrono::system_clock::time_point()>;

  LeaderElector(LeaderElectionOptions options, KubeClient* client, WallNow now = {});
  ~LeaderElector();

  // One acquire-or-renew round (tests call it directly); returns is_leader() after it.
  bool TryAcquireOrRenew();

  // Runs rounds every retry_period on a thread until Stop().
  void Start();
  void Stop();

  bool is_leader() const { return leader_.load(); }

 private:
  bool Write(bool create, const std::string& resource_version, int transitions,
             const std::string& acquire_time);
  std::string LeasePath() const;

  const LeaderElectionOptions options_;
  KubeClient* client_;
  WallNow now_;
  std::atomic<bool> leader_{false};

  // Observed record (touched by the election thread only).
  std::string observed_record_;  // holder + renewTime + resourceVersion
  std::chrono::system_clock::time_point observed_at_{};
  std::chrono::system_clock::time_point last_renew_{};

  std::mutex mu_;  // guards stopping_ for the wait
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace backstop::watcher
