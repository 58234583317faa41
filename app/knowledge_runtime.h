#pragma once

#include <rapidjson/document.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "obs/metrics.h"
#include "policy/cluster_facts.h"
#include "watcher/knowledge.h"
#include "watcher/object_sink.h"
#include "watcher/watcher.h"

namespace backstop::watcher {
class EventRecorder;
class FactsStore;
class Knowledge;
class KubeClient;
class LeaderElector;
class Watcher;
}  // namespace backstop::watcher

namespace backstop::app {

// Where cluster knowledge comes from, as the command line says.
struct KnowledgeFlags {
  std::string kubeconfig;  // --kubeconfig; empty: in-cluster when available
  bool allow_insecure_kubeconfig = false;
  std::string cluster_state;   // --cluster-state: a static snapshot instead
  bool record_events = false;  // --record-events (leader-elected)
  std::string lease_namespace = "backstop-system";
  std::string identity;           // default: $POD_NAME, then $HOSTNAME
  bool watcher_required = false;  // fail instead of running with the watcher off
};

// Owns cluster knowledge for `serve` and `watch`: off (nothing known), a static snapshot
// from a cluster-state file, or the live watcher feeding Knowledge, with a publisher
// thread turning events into snapshots once a second and, optionally, Events written by
// the leader.
class KnowledgeRuntime {
 public:
  enum class Mode { kOff, kStatic, kLive };
  using SinkWrapper =
      std::function<std::unique_ptr<watcher::ObjectSink>(watcher::ObjectSink* knowledge)>;

  // Resolves the source. `watcher` and `knowledge` are the config file's "watcher"
  // section (see LoadConfig). Errors are messages for the user (file, key, what is wrong).
  static StatusOr<std::unique_ptr<KnowledgeRuntime>> Create(
      const KnowledgeFlags& flags, const watcher::WatcherOptions& watcher,
      const watcher::KnowledgeOptions& knowledge, obs::Registry* registry,
      SinkWrapper wrap = nullptr);
  ~KnowledgeRuntime();
  KnowledgeRuntime(const KnowledgeRuntime&) = delete;
  KnowledgeRuntime& operator=(const KnowledgeRuntime&) = delete;

  Status Start();
  void Stop();

  Mode mode() const { return mode_; }
  // The snapshot policies read now (never null).
  policy::ClusterFactsPtr Facts() const;
  // When the knowledge was last known current (see PolicyContext::facts_fresh_at).
  policy::TimePoint FreshAt(policy::TimePoint now) const;
  // Readiness: the live watcher's initial lists have synced (always true otherwise).
  bool Ready(std::string* why) const;
  watcher::Knowledge* knowledge() { return knowledge_.get(); }

 private:
  KnowledgeRuntime() = default;

  Mode mode_ = Mode::kOff;
  policy::ClusterFactsPtr static_facts_;
  std::unique_ptr<watcher::FactsStore> store_;
  std::unique_ptr<watcher::Knowledge> knowledge_;
  std::unique_ptr<watcher::ObjectSink> sink_;
  std::unique_ptr<watcher::Watcher> watcher_;
  std::unique_ptr<watcher::KubeClient> lease_client_;
  std::unique_ptr<watcher::KubeClient> event_client_;
  std::unique_ptr<watcher::LeaderElector> elector_;
  std::unique_ptr<watcher::EventRecorder> events_;

  std::mutex mu_;  // guards stopping_ (with cv_)
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread publisher_;
};

}  // namespace backstop::app
