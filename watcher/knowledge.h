#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/config_reader.h"
#include "base/status.h"
#include "policy/cluster_facts.h"
#include "watcher/classifier.h"
#include "watcher/facts_store.h"
#include "watcher/object_sink.h"

namespace backstop::obs {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace backstop::obs

namespace backstop::watcher {

// Settings of the knowledge builder; read from the "watcher" section of the config file.
struct KnowledgeOptions {
  // key nodeStatusMaxImages (default 50, kubelet's default): a node reporting this many
  // images (or more) may have more than it lists.
  int64_t node_status_max_images = 50;
  // key observationRetentionSeconds (formerly observationTtlSeconds; default 600): an
  // image-failure observation is forgotten this long after the last pod showing it
  // stopped showing it (or was deleted).
  std::chrono::seconds observation_ttl{600};
  // key unschedulableGraceSeconds (default 120): PodScheduled=False/Unschedulable is
  // classified only once its lastTransitionTime is this old.
  std::chrono::seconds unschedulable_grace{120};
  // Not a config key. Offline sources (cluster-state files) set it: observation times
  // come from the objects' timestamps (container state, conditions) when present,
  // instead of the time the event arrived.
  bool times_from_objects = false;
};

// Reads the three keys above from `reader` (the "watcher" section), leaving other keys
// of the section to their owners: it does not call RejectUnknown().
void ReadKnowledgeOptions(ConfigReader& reader, KnowledgeOptions* options);
// Parses a section holding only these keys (null = defaults); unknown keys are errors.
StatusOr<KnowledgeOptions> ParseKnowledgeOptions(const rapidjson::Value* section);

// Accumulates what the list/watch loops show about nodes and pods and publishes
// immutable ClusterFacts snapshots into a FactsStore.
//
// Events only mark the knowledge dirty; Publish(now) (called by the watch loop or a timer
// of the caller) builds one snapshot for however many events came before it. Memory per
// pod is its node, its failing images and its running images, never the object.
//
// Thread-safe: ObjectSink calls may come from one thread per resource while another
// thread publishes. mu_ guards all state below it; callbacks run without the lock held.
class Knowledge : public ObjectSink {
 public:
  using ClockFn = std::function<policy::TimePoint()>;
  // pod "namespace/name", a finding new for that pod (fired once per (pod, reason)).
  using ClassifiedFn = std::function<void(std::string_view pod, const Finding& finding)>;

  // `store` may be null (snapshots are then only built, e.g. for cluster-state files).
  // `clock` stamps observations and drives the Unschedulable grace; `metrics` may be null.
  Knowledge(KnowledgeOptions options, FactsStore* store, ClockFn clock,
            obs::Registry* metrics = nullptr);
  ~Knowledge() override;
  Knowledge(const Knowledge&) = delete;
  Knowledge& operator=(const Knowledge&) = delete;

  // Set before the watch loops start.
  void SetOnClassified(ClassifiedFn fn);

  // ObjectSink: resource is "nodes" or "pods"; other resources are ignored.
  void Replace(std::string_view resource,
               const std::vector<const rapidjson::Value*>& items) override;
  void Apply(std::string_view resource, WatchEventType type,
             const rapidjson::Value& object) override;
  void MarkSynced(std::string_view resource) override;

  // Expires observations older than the TTL, fires Unschedulable findings whose grace
  // ended, and when anything changed since the last snapshot builds and publishes a new
  // one. Returns the snapshot published, or null when nothing changed.
  policy::ClusterFactsPtr Publish(policy::TimePoint now);
  // Builds (and publishes, when there is a store) a snapshot now, changed or not.
  policy::ClusterFactsPtr PublishNow(policy::TimePoint now);

  // Readable counts (also exported as metrics when a registry was given).
  std::map<std::string, int64_t> ClassifiedCounts() const;
  // Distinct images with at least one live known-absent-on-node observation.
  size_t KnownAbsentImages() const;
  size_t NodeCount() const;
  size_t PodCount() const;
  bool dirty() const;
  uint64_t snapshots_published() const;

 private:
  struct NodeState {
    std::unordered_map<std::string, std::string> labels;
    std::vector<std::string> images;  // normalised, deduplicated
    size_t reported_entries = 0;      // length of status.images
  };
  // One image failure shown by a pod: absent on `node` (node non-empty) or missing from
  // its registry (node empty).
  struct FailKey {
    std::string image;  // normalised
    std::string node;
    bool operator==(const FailKey&) const = default;
  };
  struct PodState {
    std::string uid;
    std::string node;
    std::vector<FailKey> failing;
    std::vector<std::string> running;  // normalised images of running containers
    std::vector<std::string> fired;    // reasons already reported through the callback
  };
  struct Observation {
    std::string pod;
    std::string reason;
    std::string message;
    int64_t count = 0;
    int64_t active = 0;  // pods showing it now; it cannot expire while > 0
    policy::TimePoint last_seen{};
    policy::TimePoint inactive_since{};
  };
  struct Fired {
    std::string pod;
    Finding finding;
  };

  void SetNodeLocked(const rapidjson::Value& node);
  void RemoveNodeLocked(const std::string& name);
  void SetPodLocked(const rapidjson::Value& pod, policy::TimePoint now, std::vector<Fired>* fired);
  void RemovePodLocked(const std::string& key, policy::TimePoint now);
  void AddRunningLocked(const std::string& node, const std::string& image);
  void DropRunningLocked(const std::string& node, const std::string& image);
  void ReleaseFailureLocked(const FailKey& key, policy::TimePoint now);
  // False when presence evidence erased it while a pod still showed it: the pod's next
  // event records it again (the snapshot hides it for as long as the evidence lasts).
  bool HasObservationLocked(const FailKey& key) const;
  void CountFiredLocked(const std::vector<Fired>& fired);
  void Fire(const std::vector<Fired>& fired);
  bool ExpireLocked(policy::TimePoint now);
  bool PresentLocked(const std::string& image, const std::string& node) const;
  policy::ClusterFactsPtr BuildLocked(policy::TimePoint now);
  policy::TimePoint EvidenceTime(const Finding& f, policy::TimePoint now) const;

  const KnowledgeOptions options_;
  FactsStore* const store_;
  const ClockFn clock_;
  ClassifiedFn on_classified_;  // set before start, read-only afterwards

  obs::Family<obs::Counter>* classified_metric_ = nullptr;
  obs::Gauge* absent_gauge_ = nullptr;
  obs::Counter* snapshots_metric_ = nullptr;

  mutable std::mutex mu_;  // guards everything below
  std::unordered_map<std::string, NodeState> nodes_;
  std::unordered_map<std::string, PodState> pods_;
  // node -> normalised image -> number of running containers with it.
  std::unordered_map<std::string, std::unordered_map<std::string, int>> running_on_node_;
  // image -> node -> observation (ErrImageNeverPull on that node).
  std::unordered_map<std::string, std::unordered_map<std::string, Observation>> absent_;
  // image -> observation (ErrImagePull "not found").
  std::unordered_map<std::string, Observation> missing_;
  // pod -> Unschedulable finding waiting for its grace to end.
  std::unordered_map<std::string, Finding> pending_unschedulable_;
  std::map<std::string, int64_t> classified_counts_;
  bool nodes_synced_ = false;
  bool pods_synced_ = false;
  bool dirty_ = true;
  uint64_t snapshots_ = 0;
  size_t known_absent_images_ = 0;
};

}  // namespace backstop::watcher
