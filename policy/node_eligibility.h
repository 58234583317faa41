#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <vector>

#include "policy/cluster_facts.h"

namespace backstop::policy {

// The nodes a pod spec can land on, as far as its placement fields say: spec.nodeName if
// set; else the nodes matching spec.nodeSelector and the required node-affinity terms;
// else every node. Taints, tolerations and resources are not considered, so the set is
// never smaller than the scheduler's (a denial built on it stays on the safe side).
struct EligibleNodes {
  // True when the spec does not constrain placement: every node in the facts is
  // eligible and `nodes` is empty (callers use counts instead of walking nodes).
  bool all = true;
  // When !all: indexes into ClusterFacts::nodes, ascending; may be empty (the named node
  // is unknown, or no known node matches).
  std::vector<uint32_t> nodes;
  // What narrowed the set, for messages: "nodeName", "nodeSelector", "node affinity",
  // "nodeSelector and node affinity"; empty when `all`.
  std::string constraint;
};

// Computes the eligible nodes of `pod_spec` (a PodSpec object) against `facts.nodes`.
// Walks the nodes only when the spec constrains placement.
EligibleNodes FindEligibleNodes(const rapidjson::Value& pod_spec, const ClusterFacts& facts);

// Whether `node` satisfies one NodeSelectorTerm (matchExpressions and matchFields ANDed).
// A term with no requirements matches nothing, as in the scheduler. Supported operators:
// In, NotIn, Exists, DoesNotExist, Gt, Lt; matchFields supports metadata.name (In, NotIn).
// A malformed requirement (unknown operator, Gt without one integer) matches nothing.
bool MatchesNodeSelectorTerm(const rapidjson::Value& term, const NodeFacts& node);

// Whether `node` satisfies a NodeSelector (its nodeSelectorTerms ORed). No terms: no match.
bool MatchesNodeSelector(const rapidjson::Value& node_selector, const NodeFacts& node);

}  // namespace backstop::policy
