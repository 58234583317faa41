#pragma once

// A stateful fake Kubernetes API for tests: HTTPS on 127.0.0.1 (port 0) with a throwaway
// CA, holding objects in memory with the API's own rules, so that several clients (two
// backstop replicas, a controller stand-in, kubectl) can work against it at once:
//
//   FakeCluster cluster;
//   cluster.Serve(kConfigMaps);                       // discovery + REST for the type
//   cluster.Create(kTasks, task_json);                // a controller's write (uid, rv set)
//   cluster.Delete(kTasks, "agents", "fix-bugs-42");  // e.g. TTL deletion
//   cluster.FailNext("PUT", "/api/v1/namespaces/x/configmaps/y", 409, "Conflict");
//   cluster.Compact();                                // older watches now get 410 Gone
//
// REST semantics, as kube-apiserver has them: list (equality label selectors, the list's
// resourceVersion), get, create (409 AlreadyExists), update with PUT (409 Conflict when
// metadata.resourceVersion is stale, 404 when absent), PATCH (application/json-patch+json;
// merge-patch and strategic-merge as merge patches), delete; watch=1 from a
// resourceVersion streams ADDED/MODIFIED/DELETED events (DELETED carries the last state),
// 410 Gone (an ERROR event with a Status) when that version was compacted. Errors are
// metav1.Status bodies. Discovery (/api, /api/v1, /apis, /apis/<g>/<v>) lists the served
// types so that kubectl works against it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fake_apiserver.h"
#include "tests/support/test_certs.h"
#include "watcher/kubeconfig.h"

namespace httplib {
class SSLServer;
}

namespace backstop::testing {

struct ResourceType {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, e.g. "configmaps"
  std::string kind;      // e.g. "ConfigMap"
  bool namespaced = true;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "/api/v1/namespaces/<ns>/configmaps", "/apis/kelos.dev/v1alpha2/taskspawners" (all
  // namespaces when `ns` is empty).
  std::string CollectionPath(const std::string& ns = "") const;
};

inline const ResourceType kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
inline const ResourceType kEvents{"", "v1", "events", "Event", true};
inline const ResourceType kPods{"", "v1", "pods", "Pod", true};
inline const ResourceType kNodes{"", "v1", "nodes", "Node", false};
inline const ResourceType kJobs{"batch", "v1", "jobs", "Job", true};
inline const ResourceType kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
inline const ResourceType kTasksV1alpha2{"kelos.dev", "v1alpha2", "tasks", "Task", true};
inline const ResourceType kTasksV1alpha1{"kelos.dev", "v1alpha1", "tasks", "Task", true};
inline const ResourceType kTaskSpawners{"kelos.dev", "v1alpha2", "taskspawners", "TaskSpawner",
                                        true};

class FakeCluster {
 public:
  FakeCluster();
  ~FakeCluster();
  FakeCluster(const FakeCluster&) = delete;
  FakeCluster& operator=(const FakeCluster&) = delete;

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& ca_pem() const { return ca_.cert_pem(); }
  watcher::ClusterConnection Connection(const std::string& token = "") const;
  // A kubeconfig file for kubectl (written into a temporary directory).
  std::string WriteKubeconfig() const;

  // Serves `type` (discovery and REST). Unserved paths answer 404 NotFound, as an API
  // whose CRD is not installed does.
  void Serve(const ResourceType& type);

  // Writes as a controller would (no precondition): the stored object comes back with
  // metadata uid, resourceVersion and creationTimestamp set. Create of an existing object
  // and Update of a missing one return nullopt.
  std::optional<nlohmann::json> Create(const ResourceType& type, nlohmann::json object);
  std::optional<nlohmann::json> Update(const ResourceType& type, nlohmann::json object);
  bool Delete(const ResourceType& type, const std::string& ns, const std::string& name);
  std::optional<nlohmann::json> Get(const ResourceType& type, const std::string& ns,
                                    const std::string& name) const;
  std::vector<nlohmann::json> List(const ResourceType& type, const std::string& ns = "") const;

  // The next `count` requests with this method and exact path answer `status` with a
  // Status of `reason` instead of being served.
  void FailNext(const std::string& method, const std::string& path, int status,
                const std::string& reason, int count = 1);
  // Forgets the event history: watches from an earlier resourceVersion get 410 Gone.
  void Compact();
  // Ends every open watch cleanly (as an apiserver restart would).
  void EndWatches();

  int64_t resource_version() const;
  std::vector<RecordedRequest> Requests() const;
  // Waits until `pred` holds for the store (checked after every change); false on timeout.
  bool WaitUntil(const std::function<bool()>& pred,
                 std::chrono::milliseconds deadline = std::chrono::seconds(20)) const;

 private:
  struct Event {
    int64_t rv;
    std::string type;  // ADDED, MODIFIED, DELETED
    std::string type_key;
    nlohmann::json object;
  };
  struct Fault {
    std::string method, path, reason;
    int status;
    int remaining;
  };

  // Serves one request (httplib::Request, httplib::Response; kept opaque in this header).
  void Handle(const void* request, void* response);
  const ResourceType* Resolve(const std::string& path, std::string* ns, std::string* name,
                              bool* collection) const;
  // Stores a change and wakes watches. mu_ held.
  void RecordLocked(const std::string& type, const ResourceType& rt, const nlohmann::json& obj);
  std::optional<nlohmann::json> CreateLocked(const ResourceType& type, nlohmann::json object);

  TestCa ca_;
  TempDir dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;  // guards everything below
  mutable std::condition_variable changed_;
  std::vector<ResourceType> types_;
  // type key ("group/resource") -> "ns/name" -> object
  std::map<std::string, std::map<std::string, nlohmann::json>> objects_;
  std::deque<Event> events_;
  int64_t rv_ = 1000;
  int64_t compacted_rv_ = 0;      // watches from below this get 410
  int64_t watch_generation_ = 0;  // EndWatches() bumps it
  uint64_t next_uid_ = 1;
  std::vector<Fault> faults_;
  std::vector<RecordedRequest> requests_;
  bool stopping_ = false;
};

}  // namespace backstop::testing
