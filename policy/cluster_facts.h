#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/budget_facts.h"

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
  std::string node;     // empty for registry-level observations
  std::string pod;      // namespace/name of the last pod that showed it
  std::string reason;   // kubelet reason, e.g. ErrImageNeverPull
  std::string message;  // kubelet message as seen
  int64_t count = 0;    // how many times it was seen
  TimePoint last_seen{};
  // Pods still showing the failure when the snapshot was built. A pod stuck in
  // ErrImageNeverPull gets no further status updates, so last_seen stays at its first
  // sighting: an active observation is current evidence whatever its age.
  int64_t active = 0;
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

  // Derived indexes over `nodes` (see IndexNodes below). Optional: a policy that finds
  // them unfilled (node_index.size() != nodes.size(), complete_image_list_nodes < 0)
  // computes what it needs itself, at a cost proportional to the number of nodes.
  // Node name -> index into `nodes`.
  std::unordered_map<std::string, uint32_t> node_index;
  // How many nodes have a complete image list (images_maybe_truncated false); -1 unknown.
  int64_t complete_image_list_nodes = -1;

  // The retry-budget ledger and what owners say; null when nothing is known.
  BudgetFactsPtr budget;
};

// Recomputes the derived indexes (node_index, complete_image_list_nodes) and, when
// `rebuild_image_index` is true, nodes_with_image from every node's `images`. A builder
// calls it after changing `nodes`; it costs O(nodes + images).
inline void IndexNodes(ClusterFacts& facts, bool rebuild_image_index = true) {
  facts.node_index.clear();
  facts.complete_image_list_nodes = 0;
  if (rebuild_image_index) facts.nodes_with_image.clear();
  for (uint32_t i = 0; i < facts.nodes.size(); ++i) {
    const NodeFacts& node = facts.nodes[i];
    facts.node_index.emplace(node.name, i);
    if (!node.images_maybe_truncated) ++facts.complete_image_list_nodes;
    if (!rebuild_image_index) continue;
    for (const std::string& image : node.images) {
      std::vector<uint32_t>& holders = facts.nodes_with_image[image];
      // A node may list one image under several names that normalise alike.
      if (holders.empty() || holders.back() != i) holders.push_back(i);
    }
  }
}

using ClusterFactsPtr = std::shared_ptr<const ClusterFacts>;

}  // namespace backstop::policy
