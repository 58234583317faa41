#include "watcher/cluster_state.h"

#include "base/json_util.h"

namespace backstop::watcher {
namespace {

using rapidjson::Value;

enum class ItemKind { kNode, kPod, kOther };

// The kind of an object, inferred from its shape when `kind` is absent (some tools store
// objects without apiVersion/kind).
ItemKind KindOf(const Value& v, std::string_view list_kind) {
  auto kind = AsString(Member(&v, "kind"));
  std::string_view k = kind ? *kind : std::string_view();
  if (k.empty()) {
    if (list_kind == "NodeList") return ItemKind::kNode;
    if (list_kind == "PodList") return ItemKind::kPod;
    if (Find(&v, {"spec", "containers"}) != nullptr) return ItemKind::kPod;
    if (Find(&v, {"status", "nodeInfo"}) != nullptr) return ItemKind::kNode;
    return ItemKind::kOther;
  }
  if (k == "Node") return ItemKind::kNode;
  if (k == "Pod") return ItemKind::kPod;
  return ItemKind::kOther;
}

std::string Where(const StateDocument& doc) {
  return doc.source + ": document " + std::to_string(doc.index);
}

}  // namespace

StatusOr<policy::ClusterFactsPtr> BuildClusterState(const std::vector<StateDocument>& documents,
                                                    const KnowledgeOptions& options,
                                                    policy::TimePoint now) {
  std::vector<const Value*> nodes;
  std::vector<const Value*> pods;
  for (const StateDocument& doc : documents) {
    if (doc.json == nullptr || !doc.json->IsObject()) {
      return InvalidArgumentError(Where(doc) +
                                  ": expected a Kubernetes object (a List, NodeList, PodList, "
                                  "Node or Pod), got " +
                                  std::string(doc.json ? TypeName(*doc.json) : "nothing"));
    }
    auto kind = AsString(Member(doc.json, "kind"));
    const std::string_view k = kind ? *kind : std::string_view();
    if (k == "List" || k == "NodeList" || k == "PodList") {
      const Value* items = Member(doc.json, "items");
      if (items == nullptr || items->IsNull()) continue;
      if (!items->IsArray()) {
        return InvalidArgumentError(Where(doc) + ": " + std::string(k) +
                                    " items must be an array, got " +
                                    std::string(TypeName(*items)));
      }
      for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
        const Value& item = (*items)[i];
        if (!item.IsObject()) {
          return InvalidArgumentError(Where(doc) + ": items[" + std::to_string(i) +
                                      "] must be an object, got " + std::string(TypeName(item)));
        }
        ItemKind ik = KindOf(item, k);
        if (ik == ItemKind::kOther) continue;  // services, deployments ... of `kubectl get all`
        if (!AsString(Find(&item, {"metadata", "name"}))) {
          return InvalidArgumentError(Where(doc) + ": items[" + std::to_string(i) +
                                      "]: " + (ik == ItemKind::kNode ? "Node" : "Pod") +
                                      " without metadata.name");
        }
        (ik == ItemKind::kNode ? nodes : pods).push_back(&item);
      }
      continue;
    }
    ItemKind ik = KindOf(*doc.json, "");
    if (ik == ItemKind::kOther) {
      return InvalidArgumentError(Where(doc) + ": kind " +
                                  (k.empty() ? std::string("(none)") : std::string(k)) +
                                  " is not a List, NodeList, PodList, Node or Pod");
    }
    if (!AsString(Find(doc.json, {"metadata", "name"}))) {
      return InvalidArgumentError(Where(doc) + ": " + (ik == ItemKind::kNode ? "Node" : "Pod") +
                                  " without metadata.name");
    }
    (ik == ItemKind::kNode ? nodes : pods).push_back(doc.json);
  }

  KnowledgeOptions offline = options;
  offline.times_from_objects = true;
  Knowledge knowledge(offline, nullptr, [now] { return now; });
  knowledge.Replace("nodes", nodes);
  knowledge.Replace("pods", pods);
  knowledge.MarkSynced("nodes");
  knowledge.MarkSynced("pods");
  return knowledge.PublishNow(now);
}

}  // namespace backstop::watcher
