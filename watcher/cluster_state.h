#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "base/status.h"
#include "policy/cluster_facts.h"
#include "watcher/knowledge.h"

namespace backstop::watcher {

// One parsed document of a cluster-state file (the app layer reads and parses the file,
// e.g. with app::LoadDocuments, and passes the documents here).
struct StateDocument {
  std::string source;  // file name, for messages
  int index = 0;       // 1-based document number in the file
  const rapidjson::Value* json = nullptr;
};

// Builds the ClusterFacts snapshot that `--cluster-state FILE` stands for, from the output
// of `kubectl get nodes,pods -A -o json` (a List mixing Node and Pod items), NodeList /
// PodList documents, single Nodes and Pods, or any mix of them across YAML documents.
// Items of other kinds inside a List are ignored. The items go through the same Knowledge
// code path as the watcher (Replace + MarkSynced for "nodes" and "pods"), so the snapshot
// is synced; observation times come from the objects' timestamps when present, else `now`.
// Errors name the source and document (and item).
StatusOr<policy::ClusterFactsPtr> BuildClusterState(const std::vector<StateDocument>& documents,
                                                    const KnowledgeOptions& options,
                                                    policy::TimePoint now);

}  // namespace backstop::watcher
