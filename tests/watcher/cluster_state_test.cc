#include "watcher/cluster_state.h"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include <string>
#include <vector>

#include "app/documents.h"
#include "base/json_util.h"
#include "policy/image_ref.h"
#include "tests/support/fixtures.h"

namespace backstop::watcher {
namespace {

using policy::TimePoint;
using rapidjson::Document;
using rapidjson::Value;

std::string Norm(std::string_view image) { return policy::NormalizeImage(image).value_or(""); }

const TimePoint kNow = *ParseTimestamp("2030-01-01T00:00:00Z");

std::vector<StateDocument> Docs(const std::vector<app::SourceDocument>& parsed) {
  std::vector<StateDocument> out;
  for (const auto& d : parsed) out.push_back({d.source, d.index, d.json.get()});
  return out;
}

// A `kubectl get nodes,pods -A -o json`-shaped List assembled from fixtures: the minikube
// node, the running nginx pod on it, and a copy of the ImagePullBackOff pod moved to
// minikube whose status is edited to kubelet's exact ErrImageNeverPull reason and message.
std::unique_ptr<Document> AssembleList() {
  auto list = std::make_unique<Document>();
  list->SetObject();
  auto& a = list->GetAllocator();
  list->AddMember("apiVersion", "v1", a);
  list->AddMember("kind", "List", a);
  Value items(rapidjson::kArrayType);

  auto node = testing::LoadFixtureJson("nodes/k9s_no.json");
  auto running = testing::LoadFixtureJson("pods/k9s_po.json");
  auto failing = testing::LoadFixtureJson("pods/gitops-engine_pod-imagepullbackoff.yaml");
  rapidjson::Pointer("/spec/nodeName").Set(*failing, "minikube");
  rapidjson::Pointer("/spec/containers/0/image").Set(*failing, "optio-node:latest");
  rapidjson::Pointer("/status/containerStatuses/0/state/waiting/reason")
      .Set(*failing, "ErrImageNeverPull");
  rapidjson::Pointer("/status/containerStatuses/0/state/waiting/message")
      .Set(*failing,
           "Container image \"optio-node:latest\" is not present with pull policy of Never");
  // Services and the like in a `kubectl get all` List are skipped.
  Document service;
  service.Parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"svc"}})");

  for (Document* d : {node.get(), running.get(), failing.get(), &service}) {
    Value copy(*d, a);
    items.PushBack(copy, a);
  }
  list->AddMember("items", items, a);
  return list;
}

TEST(ClusterState, ListOfFixtureNodesAndPods) {
  BACKSTOP_REQUIRE_FIXTURES();
  auto list = AssembleList();
  auto facts = BuildClusterState({{"state.json", 1, list.get()}}, {}, kNow);
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  const policy::ClusterFacts& f = **facts;
  EXPECT_TRUE(f.synced);
  EXPECT_EQ(f.built_at, kNow);
  ASSERT_EQ(f.nodes.size(), 1u);
  EXPECT_EQ(f.nodes[0].name, "minikube");
  EXPECT_EQ(f.nodes[0].images.size(), 28u);  // 17 entries with 28 distinct names
  EXPECT_FALSE(f.nodes[0].images_maybe_truncated);
  EXPECT_EQ(f.nodes_with_image.count(Norm("k8s.gcr.io/etcd:3.3.10")), 1u);
  // The running nginx pod is presence evidence on minikube.
  EXPECT_EQ(f.nodes_with_image.count(Norm("nginx:alpine")), 1u);

  auto absent = f.absent_on_node.find(Norm("optio-node:latest"));
  ASSERT_NE(absent, f.absent_on_node.end());
  ASSERT_EQ(absent->second.size(), 1u);
  EXPECT_EQ(absent->second[0].node, "minikube");
  EXPECT_EQ(absent->second[0].pod, "default/guestbook-ui-errimagepullbackoff-66cfffb669-45w2j");
  // Time from the object (the ContainersReady condition), not the build time.
  EXPECT_EQ(absent->second[0].last_seen, *ParseTimestamp("2019-04-04T16:06:56Z"));
}

TEST(ClusterState, MultiDocumentYamlNodeListAndPodList) {
  BACKSTOP_REQUIRE_FIXTURES();
  // A must-gather node (YAML), a NodeList (JSON re-emitted as a YAML flow document) and a
  // PodList, one document each.
  const std::string text = testing::ReadFixture("nodes/nto-mustgather_sno.yaml") + "\n---\n" +
                           testing::ReadFixture("nodes/miq-openshift_nodelist_9nodes_images.json") +
                           "\n---\n" + testing::ReadFixture("watch/kubeclient_podlist_page2.json") +
                           "\n";
  auto parsed = app::ParseDocuments(text, "state.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 3u);
  auto facts = BuildClusterState(Docs(*parsed), {}, kNow);
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  EXPECT_EQ((*facts)->nodes.size(), 10u);
  EXPECT_TRUE((*facts)->synced);
  EXPECT_TRUE((*facts)->absent_on_node.empty());
}

TEST(ClusterState, ErrorsNameSourceAndDocument) {
  Document service;
  service.Parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"svc"}})");
  Document ok;
  ok.Parse(R"({"kind":"PodList","items":[]})");
  auto r = BuildClusterState({{"state.yaml", 1, &ok}, {"state.yaml", 2, &service}}, {}, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "state.yaml: document 2: kind Service is not a List, NodeList, PodList, Node or Pod");

  Document nameless;
  nameless.Parse(R"({"kind":"List","items":[{"kind":"Node","metadata":{}}]})");
  r = BuildClusterState({{"s.json", 1, &nameless}}, {}, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "s.json: document 1: items[0]: Node without metadata.name");

  Document scalar;
  scalar.Parse("42");
  r = BuildClusterState({{"s.json", 1, &scalar}}, {}, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("s.json: document 1: expected a Kubernetes object"),
            std::string::npos);

  Document items;
  items.Parse(R"({"kind":"NodeList","items":{}})");
  r = BuildClusterState({{"s.json", 3, &items}}, {}, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "s.json: document 3: NodeList items must be an array, got object");
}

TEST(ClusterState, EmptyInputIsSyncedAndEmpty) {
  auto r = BuildClusterState({}, {}, kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->synced);
  EXPECT_TRUE((*r)->nodes.empty());
}

}  // namespace
}  // namespace backstop::watcher
