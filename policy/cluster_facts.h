#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace backstop::policy {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// What the cluster has shown about one node.
struct NodeFacts {
  std::string name;
  std::unordered_map<std::string, std::string> labels;
  // Normalised image names from status.images.
  std::vector<std::string> images;
  // status.images may be cut at kubelet's nodeStatusMaxImages: absence is not proof.
  bool images_maybe_truncated = false;
};

// One observation that an image failed (e.g. ErrImageNeverPull on a node).
struct ImageObservation {
  std::string node;       // empty for registry-level observations
  std::string pod;        // namespace/name of the last pod that showed it
  std::string reason;     // kubelet reason, e.g. ErrImageNeverPull
  std::string message;    // kubelet message as seen
  int64_t count = 0;      // how many times it was seen
  TimePoint last_seen{};
};

// Immutable snapshot of cluster knowledge handed to policies. Built by the watcher (or
// from a cluster-state file) and shared as std::shared_ptr<const ClusterFacts>.
struct ClusterFacts {
  // False until the watcher's initial lists have synced: knowledge is unknown.
  bool synced = false;
  TimePoint built_at{};
  std::vector<NodeFacts> nodes;
  // Normalised image name -> indexes into `nodes` of the nodes that report it.
  std::unordered_map<std::string, std::vector<uint32_t>> nodes_with_image;
  // Normalised image name -> nodes where it was seen absent (ErrImageNeverPull).
  std::unordered_map<std::string, std::vector<ImageObservation>> absent_on_node;
  // Normalised image name -> seen missing from its registry (ErrImagePull not found).
  std::unordered_map<std::string, ImageObservation> missing_from_registry;
};

using ClusterFactsPtr = std::shared_ptr<const ClusterFacts>;

}  // namespace backstop::policy
