#include "watcher/knowledge.h"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "app/documents.h"
#include "base/json_util.h"
#include "obs/metrics.h"
#include "policy/image_ref.h"
#include "tests/support/fixtures.h"

namespace backstop::watcher {
namespace {

using policy::TimePoint;
using rapidjson::Document;
using rapidjson::Value;
using std::chrono::seconds;

std::string Norm(std::string_view image) {
  auto n = policy::NormalizeImage(image);
  EXPECT_TRUE(n.has_value()) << image;
  return n.value_or(std::string(image));
}

// Every document of every node fixture, kept alive for the test.
struct NodeFixtures {
  std::vector<std::unique_ptr<Document>> docs;
  std::vector<const Value*> nodes;
};

NodeFixtures LoadNodeFixtures() {
  NodeFixtures out;
  for (const auto& path : testing::FixtureFiles("nodes", {".json", ".yaml"})) {
    auto parsed = app::LoadDocuments(path.string());
    EXPECT_TRUE(parsed.ok()) << path;
    if (!parsed.ok()) continue;
    for (auto& d : *parsed) {
      const Value* items = Member(d.json.get(), "items");
      if (items != nullptr && items->IsArray()) {
        for (const Value& item : items->GetArray()) out.nodes.push_back(&item);
      } else {
        out.nodes.push_back(d.json.get());
      }
      out.docs.push_back(std::move(d.json));
    }
  }
  return out;
}

using testing::SetString;
using testing::SetWaiting;

// k9s_po.json (default/nginx on node minikube) with its container's image replaced and the
// container waiting with kubelet's exact ErrImageNeverPull reason and message.
std::unique_ptr<Document> NeverPullPod(std::string_view image, std::string_view name = "nginx",
                                       std::string_view node = "minikube") {
  auto doc = testing::LoadFixtureJson("pods/k9s_po.json");
  SetString(*doc, "/metadata/name", name);
  SetString(*doc, "/metadata/uid", std::string(name) + "-uid");
  SetString(*doc, "/spec/nodeName", node);
  SetString(*doc, "/spec/containers/0/image", image);
  SetString(*doc, "/status/containerStatuses/0/image", image);
  SetWaiting(
      *doc, "/status/containerStatuses/0", "ErrImageNeverPull",
      "Container image \"" + std::string(image) + "\" is not present with pull policy of Never");
  return doc;
}

// k9s_po.json running `image` under another name and node.
std::unique_ptr<Document> RunningPod(std::string_view image, std::string_view name,
                                     std::string_view node = "minikube") {
  auto doc = testing::LoadFixtureJson("pods/k9s_po.json");
  SetString(*doc, "/metadata/name", name);
  SetString(*doc, "/metadata/uid", std::string(name) + "-uid");
  SetString(*doc, "/spec/nodeName", node);
  SetString(*doc, "/spec/containers/0/image", image);
  return doc;
}

// gitops-engine_pod-imagepullbackoff.yaml with kubelet's ErrImagePull "not found" (containerd).
std::unique_ptr<Document> NotFoundPod(std::string_view image, std::string_view name) {
  auto doc = testing::LoadFixtureJson("pods/gitops-engine_pod-imagepullbackoff.yaml");
  const std::string img(image);
  SetString(*doc, "/metadata/name", name);
  SetString(*doc, "/metadata/uid", std::string(name) + "-uid");
  SetString(*doc, "/spec/containers/0/image", image);
  SetWaiting(*doc, "/status/containerStatuses/0", "ErrImagePull",
             "rpc error: code = NotFound desc = failed to pull and unpack image \"" + img +
                 "\": failed to resolve reference \"" + img + "\": " + img + ": not found");
  return doc;
}

struct Harness {
  explicit Harness(KnowledgeOptions options = {})
      : knowledge(
            options, &store, [this] { return now; }, &registry) {}
  TimePoint now = TimePoint{} + std::chrono::hours(24 * 365 * 50);
  FactsStore store;
  obs::Registry registry;
  Knowledge knowledge;
};

const policy::NodeFacts* NodeNamed(const policy::ClusterFacts& f, std::string_view name) {
  for (const auto& n : f.nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

TEST(Knowledge, NodesFromEveryNodeFixture) {
  BACKSTOP_REQUIRE_FIXTURES();
  NodeFixtures fx = LoadNodeFixtures();
  ASSERT_EQ(fx.nodes.size(), 14u);  // 1 + 1 + 9 (NodeLists) + 3 single YAML nodes
  Harness h;
  h.knowledge.Replace("nodes", fx.nodes);
  auto facts = h.knowledge.PublishNow(h.now);
  ASSERT_EQ(facts->nodes.size(), 14u);
  EXPECT_EQ(h.store.Current(), facts);

  for (const Value* node : fx.nodes) {
    const std::string name(*AsString(Find(node, {"metadata", "name"})));
    SCOPED_TRACE(name);
    const policy::NodeFacts* nf = NodeNamed(*facts, name);
    ASSERT_NE(nf, nullptr);
    // Every name of every entry, normalised, is known and found by lookup.
    std::set<std::string> expected;
    const Value& images = *Find(node, {"status", "images"});
    for (const Value& entry : images.GetArray()) {
      for (const Value& n : entry["names"].GetArray()) {
        // Names that do not parse as references (e.g. "<none>@<none>") are not keys.
        if (auto normalized = policy::NormalizeImage(n.GetString())) expected.insert(*normalized);
      }
    }
    EXPECT_EQ(std::set<std::string>(nf->images.begin(), nf->images.end()), expected);
    const uint32_t index = static_cast<uint32_t>(nf - facts->nodes.data());
    for (const std::string& image : expected) {
      auto it = facts->nodes_with_image.find(image);
      ASSERT_NE(it, facts->nodes_with_image.end()) << image;
      EXPECT_NE(std::find(it->second.begin(), it->second.end(), index), it->second.end());
    }
    EXPECT_EQ(nf->images_maybe_truncated, images.Size() >= 50) << images.Size();
    EXPECT_EQ(nf->labels.at("beta.kubernetes.io/os"), "linux");
  }
  // The two must-gather nodes list exactly kubelet's 50: maybe more.
  EXPECT_TRUE(NodeNamed(*facts, "sno")->images_maybe_truncated);
  EXPECT_TRUE(NodeNamed(*facts, "master.internal")->images_maybe_truncated);
  EXPECT_FALSE(NodeNamed(*facts, "worker1.internal")->images_maybe_truncated);
  // Shared images list every node that has them.
  auto etcd = facts->nodes_with_image.find(Norm("k8s.gcr.io/etcd:3.3.10"));
  ASSERT_NE(etcd, facts->nodes_with_image.end());
  ASSERT_EQ(etcd->second.size(), 1u);
  EXPECT_EQ(facts->nodes[etcd->second[0]].name, "minikube");
  // The derived indexes policies use are filled: name lookup and complete-list count.
  ASSERT_EQ(facts->node_index.size(), facts->nodes.size());
  EXPECT_EQ(facts->nodes[facts->node_index.at("minikube")].name, "minikube");
  int64_t complete = 0;
  for (const auto& n : facts->nodes) complete += n.images_maybe_truncated ? 0 : 1;
  EXPECT_EQ(facts->complete_image_list_nodes, complete);
}

TEST(Knowledge, TruncationFollowsConfiguredMax) {
  BACKSTOP_REQUIRE_FIXTURES();
  auto doc = testing::LoadFixtureJson("nodes/miq-openshift3_nodelist_1node_18images.json");
  const Value* node = &(*doc)["items"][0];
  for (int64_t max : {18, 19}) {
    KnowledgeOptions options;
    options.node_status_max_images = max;
    Harness h(options);
    h.knowledge.Apply("nodes", WatchEventType::kAdded, *node);
    auto facts = h.knowledge.PublishNow(h.now);
    ASSERT_EQ(facts->nodes.size(), 1u);
    EXPECT_EQ(facts->nodes[0].images_maybe_truncated, max == 18) << max;
  }
}

TEST(Knowledge, SyncedOnlyAfterBothResources) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  EXPECT_FALSE(h.knowledge.PublishNow(h.now)->synced);
  h.knowledge.MarkSynced("nodes");
  EXPECT_FALSE(h.knowledge.Publish(h.now)->synced);
  h.knowledge.MarkSynced("tasks");  // not ours
  h.knowledge.MarkSynced("pods");
  auto facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);
  EXPECT_TRUE(facts->synced);
  EXPECT_TRUE(h.store.Current()->synced);
}

TEST(Knowledge, NeverPullObservationCountsAndMetrics) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  auto node = testing::LoadFixtureJson("nodes/k9s_no.json");
  h.knowledge.Apply("nodes", WatchEventType::kAdded, *node);
  auto a = NeverPullPod("optio-node:latest", "task-a");
  auto b = NeverPullPod("optio-node:latest", "task-b");
  h.knowledge.Apply("pods", WatchEventType::kAdded, *a);
  h.now += seconds(5);
  h.knowledge.Apply("pods", WatchEventType::kAdded, *b);
  h.knowledge.Apply("pods", WatchEventType::kModified, *b);  // same failure: not counted again
  auto facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);

  auto it = facts->absent_on_node.find(Norm("optio-node:latest"));
  ASSERT_NE(it, facts->absent_on_node.end());
  ASSERT_EQ(it->second.size(), 1u);
  const policy::ImageObservation& o = it->second[0];
  EXPECT_EQ(o.node, "minikube");
  EXPECT_EQ(o.pod, "default/task-b");
  EXPECT_EQ(o.reason, "ErrImageNeverPull");
  EXPECT_EQ(o.message,
            "Container image \"optio-node:latest\" is not present with pull policy of Never");
  EXPECT_EQ(o.count, 2);
  EXPECT_EQ(o.last_seen, h.now);
  EXPECT_TRUE(facts->missing_from_registry.empty());

  EXPECT_EQ(h.knowledge.KnownAbsentImages(), 1u);
  EXPECT_EQ(h.knowledge.ClassifiedCounts().at("ErrImageNeverPull"), 2);  // two pods
  const std::string text = h.registry.Render();
  EXPECT_NE(text.find("backstop_known_absent_images 1"), std::string::npos) << text;
  EXPECT_NE(text.find("backstop_pod_failures_classified_total{reason=\"ErrImageNeverPull\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("backstop_pod_failures_classified_total{reason=\"OOMKilled\"} 0"),
            std::string::npos);
}

TEST(Knowledge, ObservationExpiresAfterTtlOnceNoPodShowsIt) {
  BACKSTOP_REQUIRE_FIXTURES();
  KnowledgeOptions options;
  options.observation_ttl = seconds(600);
  Harness h(options);
  auto pod = NeverPullPod("optio-node:latest", "task-a");
  h.knowledge.Apply("pods", WatchEventType::kAdded, *pod);
  ASSERT_NE(h.knowledge.Publish(h.now), nullptr);
  const std::string image = Norm("optio-node:latest");

  // Still failing long after the TTL: still known.
  h.now += seconds(3600);
  EXPECT_EQ(h.knowledge.Publish(h.now), nullptr);  // nothing changed
  ASSERT_EQ(h.store.Current()->absent_on_node.count(image), 1u);
  EXPECT_EQ(h.store.Current()->absent_on_node.at(image)[0].active, 1);

  // The pod goes away; the observation lives on for the TTL, then expires.
  h.knowledge.Apply("pods", WatchEventType::kDeleted, *pod);
  const TimePoint deleted = h.now;
  ASSERT_NE(h.knowledge.Publish(h.now), nullptr);  // no pod shows it any more: a change
  ASSERT_EQ(h.store.Current()->absent_on_node.count(image), 1u);
  const policy::ImageObservation& gone = h.store.Current()->absent_on_node.at(image)[0];
  EXPECT_EQ(gone.active, 0);
  EXPECT_EQ(gone.last_seen, deleted);  // the policies' TTL runs from the last sighting
  h.now = deleted + seconds(599);
  EXPECT_EQ(h.knowledge.Publish(h.now), nullptr);
  EXPECT_EQ(h.store.Current()->absent_on_node.count(image), 1u);
  h.now = deleted + seconds(600);
  auto facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);  // expiry is a change
  EXPECT_EQ(facts->absent_on_node.count(image), 0u);
  EXPECT_EQ(h.knowledge.KnownAbsentImages(), 0u);
}

TEST(Knowledge, NodeReportingTheImageClearsAbsenceAtOnce) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  auto node = testing::LoadFixtureJson("nodes/k9s_no.json");
  h.knowledge.Apply("nodes", WatchEventType::kAdded, *node);
  auto pod = NeverPullPod("optio-node:latest", "task-a");
  h.knowledge.Apply("pods", WatchEventType::kAdded, *pod);
  ASSERT_EQ(h.knowledge.Publish(h.now)->absent_on_node.size(), 1u);

  // The image is loaded onto the node: its next status lists it.
  SetString(*node, "/status/images/0/names/1", "optio-node:latest");
  h.knowledge.Apply("nodes", WatchEventType::kModified, *node);
  auto facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);
  EXPECT_TRUE(facts->absent_on_node.empty());
  EXPECT_EQ(facts->nodes_with_image.count(Norm("optio-node:latest")), 1u);

  // The pod still says ErrImageNeverPull: recorded again, but hidden while the node lists it.
  h.knowledge.Apply("pods", WatchEventType::kModified, *pod);
  h.knowledge.Publish(h.now);
  EXPECT_TRUE(h.store.Current()->absent_on_node.empty());
  // The image leaves the node again: the pod's evidence shows once more.
  auto fresh = testing::LoadFixtureJson("nodes/k9s_no.json");
  h.knowledge.Apply("nodes", WatchEventType::kModified, *fresh);
  facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);
  EXPECT_EQ(facts->absent_on_node.count(Norm("optio-node:latest")), 1u);
}

TEST(Knowledge, RunningContainerClearsAbsenceAndCountsAsPresence) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  auto node = testing::LoadFixtureJson("nodes/k9s_no.json");
  h.knowledge.Apply("nodes", WatchEventType::kAdded, *node);
  auto failing = NeverPullPod("optio-node:latest", "task-a");
  h.knowledge.Apply("pods", WatchEventType::kAdded, *failing);
  ASSERT_EQ(h.knowledge.Publish(h.now)->absent_on_node.size(), 1u);

  // On another node a running container proves nothing about minikube.
  auto elsewhere = RunningPod("optio-node:latest", "other", "worker-9");
  h.knowledge.Apply("pods", WatchEventType::kAdded, *elsewhere);
  EXPECT_EQ(h.knowledge.Publish(h.now)->absent_on_node.size(), 1u);

  auto running = RunningPod("optio-node:latest", "task-b");
  h.knowledge.Apply("pods", WatchEventType::kAdded, *running);
  auto facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);
  EXPECT_TRUE(facts->absent_on_node.empty());
  auto with = facts->nodes_with_image.find(Norm("optio-node:latest"));
  ASSERT_NE(with, facts->nodes_with_image.end());
  EXPECT_EQ(facts->nodes[with->second.at(0)].name, "minikube");
}

TEST(Knowledge, MissingFromRegistryAndClearedByPresence) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  auto pod = NotFoundPod("ghcr.io/example/agent:v9", "agent-1");
  h.knowledge.Apply("pods", WatchEventType::kAdded, *pod);
  auto facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);
  const std::string image = Norm("ghcr.io/example/agent:v9");
  auto it = facts->missing_from_registry.find(image);
  ASSERT_NE(it, facts->missing_from_registry.end());
  EXPECT_EQ(it->second.reason, "ErrImagePull");
  EXPECT_EQ(it->second.pod, "default/agent-1");
  EXPECT_TRUE(it->second.node.empty());
  EXPECT_EQ(it->second.count, 1);
  EXPECT_TRUE(facts->absent_on_node.empty());  // a pull failure is not node absence

  auto node = testing::LoadFixtureJson("nodes/k9s_no.json");
  SetString(*node, "/status/images/2/names/0", "ghcr.io/example/agent:v9");
  h.knowledge.Apply("nodes", WatchEventType::kAdded, *node);
  facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);
  EXPECT_TRUE(facts->missing_from_registry.empty());
}

TEST(Knowledge, ManyEventsOneSnapshot) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  NodeFixtures fx = LoadNodeFixtures();
  h.knowledge.Replace("nodes", fx.nodes);
  h.knowledge.MarkSynced("nodes");
  std::vector<std::unique_ptr<Document>> pods;
  for (int i = 0; i < 40; ++i) {
    pods.push_back(NeverPullPod("optio-node:" + std::to_string(i % 4), "p" + std::to_string(i)));
    h.knowledge.Apply("pods", WatchEventType::kAdded, *pods.back());
  }
  h.knowledge.MarkSynced("pods");
  const uint64_t before = h.knowledge.snapshots_published();
  EXPECT_EQ(before, 0u);
  EXPECT_TRUE(h.knowledge.dirty());
  auto facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);
  EXPECT_EQ(h.knowledge.snapshots_published(), 1u);
  EXPECT_EQ(h.store.Current(), facts);
  EXPECT_EQ(facts->absent_on_node.size(), 4u);
  EXPECT_EQ(facts->absent_on_node.at(Norm("optio-node:0"))[0].count, 10);
  EXPECT_TRUE(facts->synced);
  // No change, no snapshot.
  EXPECT_EQ(h.knowledge.Publish(h.now), nullptr);
  // An event that changes nothing known (same pod again) publishes nothing either.
  h.knowledge.Apply("pods", WatchEventType::kModified, *pods[0]);
  EXPECT_EQ(h.knowledge.Publish(h.now), nullptr);
  EXPECT_EQ(h.knowledge.snapshots_published(), 1u);
  EXPECT_EQ(h.store.Current(), facts);
}

TEST(Knowledge, ClassifiedCallbackOncePerPodAndReason) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  std::vector<std::string> calls;
  h.knowledge.SetOnClassified([&calls](std::string_view pod, const Finding& f) {
    calls.push_back(std::string(pod) + " " + f.reason);
  });
  auto pod = NeverPullPod("optio-node:latest", "task-a");
  for (int i = 0; i < 3; ++i) h.knowledge.Apply("pods", WatchEventType::kModified, *pod);
  EXPECT_EQ(calls, std::vector<std::string>{"default/task-a ErrImageNeverPull"});

  // A different reason on the same pod is new.
  SetWaiting(*pod, "/status/containerStatuses/0", "CreateContainerConfigError",
             "configmap \"app-config\" not found");
  h.knowledge.Apply("pods", WatchEventType::kModified, *pod);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1], "default/task-a CreateContainerConfigError");

  // A new pod (new uid) under the same name fires again.
  SetString(*pod, "/metadata/uid", "second-life");
  h.knowledge.Apply("pods", WatchEventType::kAdded, *pod);
  EXPECT_EQ(calls.size(), 3u);
  // A relist of the same pods fires nothing new.
  h.knowledge.Replace("pods", {pod.get()});
  EXPECT_EQ(calls.size(), 3u);
  EXPECT_EQ(h.knowledge.ClassifiedCounts().at("CreateContainerConfigError"), 2);
}

TEST(Knowledge, UnschedulableFiresWhenGraceEndsAtPublish) {
  BACKSTOP_REQUIRE_FIXTURES();
  auto pod = testing::LoadFixtureJson("pods/insights_unschedulable_router.json");
  const TimePoint since = *ParseTimestamp("2021-07-07T16:14:55Z");
  Harness h;
  h.now = since + seconds(30);
  std::vector<std::string> calls;
  h.knowledge.SetOnClassified([&calls](std::string_view pod_name, const Finding& f) {
    calls.push_back(std::string(pod_name) + " " + f.reason);
  });
  h.knowledge.Apply("pods", WatchEventType::kAdded, *pod);
  h.knowledge.Publish(h.now);
  EXPECT_TRUE(calls.empty());
  h.now = since + seconds(119);
  h.knowledge.Publish(h.now);
  EXPECT_TRUE(calls.empty());
  h.now = since + seconds(120);
  h.knowledge.Publish(h.now);
  EXPECT_EQ(calls, std::vector<std::string>{
                       "openshift-ingress/router-default-7bbdcfcf9b-7xdln Unschedulable"});
  h.now += seconds(600);
  h.knowledge.Apply("pods", WatchEventType::kModified, *pod);
  h.knowledge.Publish(h.now);
  EXPECT_EQ(calls.size(), 1u);
  EXPECT_EQ(h.knowledge.ClassifiedCounts().at("Unschedulable"), 1);
}

TEST(Knowledge, RelistDropsVanishedPodsAndNodes) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  NodeFixtures fx = LoadNodeFixtures();
  h.knowledge.Replace("nodes", fx.nodes);
  auto a = NeverPullPod("optio-node:latest", "a", "sno");
  auto b = NeverPullPod("optio-node:latest", "b", "minikube");
  h.knowledge.Replace("pods", {a.get(), b.get()});
  auto facts = h.knowledge.Publish(h.now);
  ASSERT_EQ(facts->absent_on_node.at(Norm("optio-node:latest")).size(), 2u);
  EXPECT_EQ(h.knowledge.PodCount(), 2u);

  // Relist without node "sno": its observations go with it.
  std::vector<const Value*> fewer;
  for (const Value* n : fx.nodes) {
    if (*AsString(Find(n, {"metadata", "name"})) != "sno") fewer.push_back(n);
  }
  h.knowledge.Replace("nodes", fewer);
  h.knowledge.Replace("pods", {b.get()});
  facts = h.knowledge.Publish(h.now);
  ASSERT_NE(facts, nullptr);
  EXPECT_EQ(facts->nodes.size(), 13u);
  EXPECT_EQ(NodeNamed(*facts, "sno"), nullptr);
  EXPECT_EQ(h.knowledge.PodCount(), 1u);
  ASSERT_EQ(facts->absent_on_node.at(Norm("optio-node:latest")).size(), 1u);
  EXPECT_EQ(facts->absent_on_node.at(Norm("optio-node:latest"))[0].node, "minikube");
}

TEST(Knowledge, MalformedObjectsAreIgnored) {
  Harness h;
  Document doc;
  doc.Parse(R"({"metadata":{"name":["x"]},"status":{"images":7}})");
  h.knowledge.Apply("nodes", WatchEventType::kAdded, doc);
  h.knowledge.Apply("pods", WatchEventType::kAdded, doc);
  Document arr;
  arr.Parse("[1,2]");
  h.knowledge.Apply("pods", WatchEventType::kDeleted, arr);
  h.knowledge.Replace("nodes", {&arr, nullptr});
  auto facts = h.knowledge.PublishNow(h.now);
  EXPECT_TRUE(facts->nodes.empty());
  EXPECT_EQ(h.knowledge.PodCount(), 0u);
}

TEST(KnowledgeOptions, ParseDefaultsValuesAndErrors) {
  auto defaults = ParseKnowledgeOptions(nullptr);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->node_status_max_images, 50);
  EXPECT_EQ(defaults->observation_ttl, seconds(600));
  EXPECT_EQ(defaults->unschedulable_grace, seconds(120));

  Document doc;
  doc.Parse(
      R"({"nodeStatusMaxImages":100,"observationTtlSeconds":60,"unschedulableGraceSeconds":0})");
  auto set = ParseKnowledgeOptions(&doc);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->node_status_max_images, 100);
  EXPECT_EQ(set->observation_ttl, seconds(60));
  EXPECT_EQ(set->unschedulable_grace, seconds(0));

  Document bad;
  bad.Parse(R"({"nodeStatusMaxImages":0,"observationTtlSeconds":"10m","nodeStatusMaxImage":5})");
  auto err = ParseKnowledgeOptions(&bad);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("watcher.nodeStatusMaxImages: must be between 1"),
            std::string::npos)
      << err.status().message();
  EXPECT_NE(err.status().message().find("watcher.observationTtlSeconds: must be an integer"),
            std::string::npos);
  EXPECT_NE(err.status().message().find("watcher.nodeStatusMaxImage: unknown key"),
            std::string::npos);

  // Reading from a shared section leaves other keys to their owners.
  Document shared;
  shared.Parse(R"({"observationTtlSeconds":30,"resyncSeconds":300})");
  ConfigProblems problems;
  ConfigReader reader(&shared, "watcher", &problems);
  KnowledgeOptions options;
  ReadKnowledgeOptions(reader, &options);
  EXPECT_TRUE(problems.errors.empty());
  EXPECT_EQ(options.observation_ttl, seconds(30));
  // The old name still works, with a warning that names the new one.
  ASSERT_EQ(problems.warnings.size(), 1u);
  EXPECT_EQ(problems.warnings[0],
            "watcher.observationTtlSeconds: is deprecated: rename it to "
            "observationRetentionSeconds (same meaning)");
}

}  // namespace
}  // namespace backstop::watcher
