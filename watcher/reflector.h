#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "obs/metrics.h"
#include "watcher/backoff.h"
#include "watcher/kube_client.h"
#include "watcher/object_sink.h"

namespace backstop::watcher {

// The watcher's metric families, registered once per Watcher.
struct WatchMetrics {
  explicit WatchMetrics(obs::Registry& registry);
  obs::Family<obs::Counter>& events;   // backstop_watch_events_total{resource,type}
  obs::Family<obs::Counter>& relists;  // backstop_watch_relists_total{resource,reason}
  obs::Family<obs::Counter>& errors;   // backstop_watch_errors_total{resource,kind}
  obs::Family<obs::Gauge>& last_sync;  // backstop_watch_last_sync_timestamp_seconds{resource}
};

struct ReflectorOptions {
  std::string resource;        // plural, lower case: "nodes", "pods" (sink and metric label)
  std::string namespace_name;  // "" = all namespaces (cluster scope)
  std::string label_selector;  // "" = everything
  std::string field_selector;  // "" = everything
  int page_size = 500;         // list `limit`; every page is followed via `continue`
  std::chrono::seconds min_watch_timeout{300};  // watch timeoutSeconds is drawn uniformly
  std::chrono::seconds max_watch_timeout{600};  // from [min, max], as client-go does
  size_t max_event_bytes = 16u << 20;           // one watch event larger than this: relist
  size_t max_list_page_bytes = 256u << 20;      // one list page larger than this: error
  BackoffOptions backoff;

  // "/api/v1/pods" or "/api/v1/namespaces/<ns>/pods" (core group resources only).
  std::string CollectionPath() const;
};

// List + watch loop for one resource with client-go reflector semantics:
// - a paginated list (limit + continue; an expired continue token restarts the list),
//   delivered to the sink as one Replace, then MarkSynced once;
// - a watch from the list's resourceVersion with allowWatchBookmarks and a randomised
//   timeoutSeconds; events are applied one by one and advance the resourceVersion,
//   bookmarks only advance it;
// - 410 Gone / Expired (HTTP status or ERROR event), an oversize or undecodable event:
//   relist; a dropped connection, 5xx, 401/403 and other errors: watch again from the
//   last resourceVersion after a capped, jittered exponential backoff.
// Run() blocks until Stop(); Stop() may be called from any thread.
class Reflector {
 public:
  using WallNow = std::function<std::chrono::system_clock::time_point()>;

  // `client`, `sink` and `metrics` must outlive the reflector. `random` in [0,1) drives
  // backoff jitter and the watch timeout; `now` stamps contact times.
  Reflector(ReflectorOptions options, KubeClient* client, ObjectSink* sink, WatchMetrics* metrics,
            std::function<double()> random = {}, WallNow now = {});

  void Run();
  void Stop();

  bool synced() const { return synced_.load(); }
  // Unix time in milliseconds of the last successful list page, watch event or
  // bookmark; 0 before any.
  int64_t last_contact_unix_ms() const { return last_contact_ms_.load(); }
  std::string resource_version() const;
  // Completed lists (initial list and relists), for tests and logs.
  int lists_completed() const { return lists_completed_.load(); }

 private:
  enum class Outcome { kOk, kStopped, kError, kExpired, kTooLarge, kDecodeError };

  Outcome ListAll();
  Outcome WatchOnce(int* events);
  Outcome HandleLine(std::string_view line, int* events);
  void HandleHttpError(const char* verb, int status, const std::string& body);
  void Relist(const char* reason);
  void Contact();
  bool Wait(std::chrono::milliseconds delay);  // false when stopping
  bool stopping() const { return stopping_.load(); }
  std::string Scope() const;
  std::string WithSelectors(std::string query) const;

  const ReflectorOptions options_;
  KubeClient* client_;
  ObjectSink* sink_;
  WatchMetrics* metrics_;
  std::function<double()> random_;
  WallNow now_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> synced_{false};
  std::atomic<int64_t> last_contact_ms_{0};
  std::atomic<int> lists_completed_{0};
  mutable std::mutex mu_;  // guards resource_version_ and the wait below
  std::condition_variable cv_;
  std::string resource_version_;
};

}  // namespace backstop::watcher
