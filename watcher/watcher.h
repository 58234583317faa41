#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/config_reader.h"
#include "base/status.h"
#include "obs/metrics.h"
#include "watcher/backoff.h"
#include "watcher/kube_client.h"
#include "watcher/kubeconfig.h"
#include "watcher/object_sink.h"
#include "watcher/reflector.h"

namespace backstop::watcher {

class NamespaceMerger;  // watcher.cc

// What the list/watch client watches and how. Defaults suit a cluster of any size.
struct WatcherOptions {
  std::vector<std::string> namespaces;          // watcher.pods.namespaces; empty = all namespaces
  std::string label_selector;                   // watcher.pods.labelSelector; "" = every pod
  int page_size = 500;                          // watcher.pageSize: list `limit` (1..5000)
  int64_t max_event_bytes = 16 << 20;           // watcher.maxEventBytes: larger event = relist
  std::chrono::seconds min_watch_timeout{300};  // watch timeoutSeconds drawn from
  std::chrono::seconds max_watch_timeout{600};  // [min, max] (client-go: 5-10 min)
  BackoffOptions backoff;                       // 800 ms doubling to 30 s, jittered
  KubeClientOptions client;                     // connect 10 s, request 60 s
  std::chrono::seconds token_refresh{60};       // token file re-read interval
  bool watch_nodes = true;
  bool watch_pods = true;
};

// Reads the client part of the "watcher" config section:
//   watcher:
//     pods: {namespaces: [a, b], labelSelector: "app=x"}
//     pageSize: 500
//     maxEventBytes: 16777216
// Problems are recorded in the reader's error list. Other keys of the section belong to
// other readers (knowledge options) and are left alone; unknown keys under `pods` are
// reported.
void ParseWatcherClientOptions(ConfigReader& watcher_section, WatcherOptions* out);

// Test seams: randomness (backoff jitter, watch timeout) and clocks.
struct WatcherDeps {
  std::function<double()> random;  // uniform [0,1); called from several threads
  Reflector::WallNow now;          // contact timestamps
  SteadyNow steady_now;            // token file age
};

// Runs one reflector for "nodes" and one (or one per configured namespace) for "pods",
// each on its own thread, all feeding `sink`. With several namespaces the pods of each
// namespace are listed and watched separately and merged: a namespace's relist is
// turned into ADDED/MODIFIED events for its pods and DELETED events (carrying only
// metadata name/namespace/uid) for pods of that namespace that vanished, so one
// namespace never replaces another's pods; MarkSynced("pods") comes once every
// namespace has synced.
class Watcher {
 public:
  // `sink` and `registry` must outlive the watcher.
  Watcher(ClusterConnection conn, WatcherOptions options, ObjectSink* sink, obs::Registry* registry,
          WatcherDeps deps = {});
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Checks the connection material and starts the threads. Error: misconfiguration.
  Status Start();
  // Interrupts requests and waits, joins the threads. Idempotent.
  void Stop();

  // Every resource's initial list was delivered to the sink.
  bool Synced() const;
  // Last successful contact (list page, event, bookmark) of any resource; nullopt before.
  std::optional<std::chrono::system_clock::time_point> LastContact() const;
  // Oldest of the per-reflector last contacts (0 when one never succeeded), for freshness.
  int64_t OldestContactUnixMs() const;

 private:
  struct Runner {
    std::unique_ptr<KubeClient> client;
    std::unique_ptr<ObjectSink> adapter;  // per-namespace merging adapter, or null
    std::unique_ptr<Reflector> reflector;
    std::thread thread;
  };

  ClusterConnection conn_;
  WatcherOptions options_;
  ObjectSink* sink_;
  WatchMetrics metrics_;
  WatcherDeps deps_;
  std::shared_ptr<TokenSource> token_;
  std::unique_ptr<NamespaceMerger> merger_;
  std::vector<std::unique_ptr<Runner>> runners_;  // written by Start/Stop only
  bool started_ = false;
};

}  // namespace backstop::watcher
