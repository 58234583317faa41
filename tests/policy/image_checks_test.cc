#include "policy/image_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "policy/config.h"
#include "policy/engine.h"
#include "policy/image_policy.h"
#include "policy/image_ref.h"
#include "tests/support/fixtures.h"

namespace backstop::policy {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// Fills ClusterFacts from a real Node or NodeList fixture the way the watcher does: each
// status.images name normalised, a list of 50 entries (kubelet's nodeStatusMaxImages)
// marked as possibly truncated.
ClusterFacts FactsFromNodeList(const rapidjson::Value& doc) {
  ClusterFacts facts;
  facts.synced = true;
  std::vector<const rapidjson::Value*> nodes;
  const rapidjson::Value* items = Member(&doc, "items");
  if (items != nullptr && items->IsArray()) {
    for (const auto& n : items->GetArray()) nodes.push_back(&n);
  } else {
    nodes.push_back(&doc);
  }
  for (const rapidjson::Value* n : nodes) {
    NodeFacts nf;
    nf.name = std::string(AsString(Find(n, {"metadata", "name"})).value_or(""));
    if (const rapidjson::Value* labels = Find(n, {"metadata", "labels"})) {
      for (auto it = labels->MemberBegin(); it != labels->MemberEnd(); ++it) {
        nf.labels.emplace(it->name.GetString(), it->value.GetString());
      }
    }
    const rapidjson::Value* images = Find(n, {"status", "images"});
    if (images != nullptr && images->IsArray()) {
      nf.images_maybe_truncated = images->Size() >= 50;
      for (const auto& entry : images->GetArray()) {
        const rapidjson::Value* names = Member(&entry, "names");
        if (names == nullptr || !names->IsArray()) continue;
        for (const auto& name : names->GetArray()) {
          if (auto key = NormalizeImage(name.GetString())) nf.images.push_back(*key);
        }
      }
    }
    facts.nodes.push_back(std::move(nf));
  }
  IndexNodes(facts);
  return facts;
}

std::string Key(const std::string& image) { return NormalizeImage(image).value_or(image); }

// Whether the real image-reference grammar is in place (the placeholder accepts anything).
bool GrammarAvailable() { return !ParseImageRef("Optio-Node").ok(); }

constexpr char kOptio[] = "optio-node:latest";
// Listed only by compute04 (region=primary) in the 9-node fixture.
constexpr char kHeapster[] =
    "brew-pulp-docker01.web.prod.ext.phx2.redhat.com:8888/openshift3/metrics-heapster:v3.6";
constexpr char kCompute02[] = "ladislav-ocp-3.6-compute02.10.35.49.22.nip.io";
constexpr char kCompute04[] = "ladislav-ocp-3.6-compute04.10.35.49.24.nip.io";
constexpr char kInfra01[] = "ladislav-ocp-3.6-infra01.10.35.49.18.nip.io";
constexpr char kInfra02[] = "ladislav-ocp-3.6-infra02.10.35.49.19.nip.io";

class ImageChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BACKSTOP_REQUIRE_FIXTURES();
    nodes_doc_ = testing::LoadFixtureJson("nodes/miq-openshift_nodelist_9nodes_images.json");
    facts_ = FactsFromNodeList(*nodes_doc_);
    ASSERT_EQ(facts_.nodes.size(), 9u);
    ASSERT_EQ(facts_.nodes_with_image.count(Key(kHeapster)), 1u);
    // A real Pod CREATE (kwctl): containers[0] alpine, containers[1] nginx, no placement.
    review_ = testing::LoadFixtureJson("admission/kwctl_v1_review_privileged_pod_create.json");
  }

  rapidjson::Document::AllocatorType& Alloc() { return review_->GetAllocator(); }
  rapidjson::Value& PodSpec() { return (*review_)["request"]["object"]["spec"]; }

  // Edits the fixture pod: containers[i] gets `image` with `policy`.
  void SetContainer(const std::string& list, int i, const std::string& image,
                    const std::string& policy) {
    const std::string base = "/request/object/spec/" + list + "/" + std::to_string(i);
    rapidjson::Pointer((base + "/image").c_str()).Set(*review_, image.c_str());
    rapidjson::Pointer((base + "/imagePullPolicy").c_str()).Set(*review_, policy.c_str());
  }

  // An ErrImageNeverPull observation as the watcher records it from a pod status edited
  // to kubelet's exact waiting reason and message (no public fixture shows this state).
  void ObserveNeverPull(const std::string& image, const std::string& node,
                        std::chrono::seconds age) {
    ImageObservation o;
    o.node = node;
    o.pod = "default/optio-task-7";
    o.reason = "ErrImageNeverPull";
    o.message = "Container image \"" + image + "\" is not present with pull policy of Never";
    o.count = 3;
    o.last_seen = now_ - age;
    facts_.absent_on_node[Key(image)].push_back(o);
  }

  void ObserveRegistryNotFound(const std::string& image, std::chrono::seconds age) {
    ImageObservation o;
    o.node = kCompute02;
    o.pod = "default/task-1";
    o.reason = "ErrImagePull";
    o.message = "rpc error: code = NotFound desc = failed to pull and unpack image \"" + image +
                "\": failed to resolve reference \"" + image + "\": not found";
    o.count = 1;
    o.last_seen = now_ - age;
    facts_.missing_from_registry[Key(image)] = o;
  }

  Decision Check(std::string_view path = "spec") {
    PolicyContext context{config_, facts_, now_, fresh_at_};
    return CheckPodSpecImages(PodSpec(), path, context);
  }

  std::string Annotation(const Decision& d, const std::string& key) {
    for (const auto& [k, v] : d.audit_annotations) {
      if (k == key) return v;
    }
    return "";
  }

  PolicyConfig config_;
  ClusterFacts facts_;
  TimePoint now_ = TimePoint(std::chrono::sys_days(std::chrono::year(2026) / 11 / 23)) + 8h;
  TimePoint fresh_at_ = now_ - 5s;
  std::unique_ptr<rapidjson::Document> nodes_doc_;
  std::unique_ptr<rapidjson::Document> review_;
};

TEST_F(ImageChecksTest, FixturePodIsAllowedUntouched) {
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  EXPECT_THAT(d.audit_annotations, IsEmpty());
}

TEST_F(ImageChecksTest, DeniesNeverPullAbsentOnEveryNode) {
  SetContainer("containers", 1, kOptio, "Never");
  ObserveNeverPull(kOptio, kInfra01, 2min);
  Decision d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 403);
  EXPECT_EQ(d.rule, "image.never-pull-absent");
  EXPECT_THAT(d.message,
              StartsWith("Container image \"optio-node:latest\" is not present with pull policy "
                         "of Never (spec.containers[1].image): ErrImageNeverPull on " +
                         std::string(kInfra01) + " 2m ago; 9 of 9 eligible nodes lack it."));
  EXPECT_THAT(d.message, HasSubstr("kind load docker-image"));
  EXPECT_THAT(Annotation(d, "image.never-pull-absent"),
              AllOf(StartsWith("deny: spec.containers[1].image"), HasSubstr("optio-node")));
}

TEST_F(ImageChecksTest, AllowsWhenPresentOnAnEligibleNode) {
  SetContainer("containers", 0, kHeapster, "Never");
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  // Seen failing elsewhere: still allowed (the node that has it may run the pod), warned.
  ObserveNeverPull(kHeapster, kCompute02, 1min);
  d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "image.never-pull-some-nodes");
  ASSERT_FALSE(d.warnings.empty());
  EXPECT_THAT(d.warnings[0], AllOf(HasSubstr("spec.containers[0].image"),
                                   HasSubstr("ErrImageNeverPull on " + std::string(kCompute02)),
                                   HasSubstr("listed on 1 of 9 nodes")));
}

TEST_F(ImageChecksTest, NodeIndexedTwiceCountsOnce) {
  SetContainer("containers", 0, kHeapster, "Never");
  ObserveNeverPull(kHeapster, kCompute02, 1min);
  // compute04 listed under two names that normalise alike: indexed twice.
  auto& holders = facts_.nodes_with_image[Key(kHeapster)];
  holders.push_back(holders.front());
  Decision d = Check();
  ASSERT_FALSE(d.warnings.empty());
  EXPECT_THAT(d.warnings[0], HasSubstr("listed on 1 of 9 nodes"));
}

TEST_F(ImageChecksTest, NodeNameNarrowsToOneNode) {
  SetContainer("containers", 0, kHeapster, "Never");
  ObserveNeverPull(kHeapster, kCompute02, 30s);
  // Bound to compute02, where it failed: deny although compute04 has it.
  PodSpec().AddMember("nodeName", rapidjson::Value(kCompute02, Alloc()), Alloc());
  Decision d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "image.never-pull-absent");
  EXPECT_THAT(d.message, HasSubstr("30s ago; 1 of 1 eligible (nodeName) nodes lack it."));
  // Bound to compute04, which lists it: allowed, nothing to say.
  PodSpec()["nodeName"].SetString(kCompute04, Alloc());
  d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  // Bound to a node the facts do not know: nothing known, allowed.
  PodSpec()["nodeName"].SetString("kind-worker", Alloc());
  d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
}

TEST_F(ImageChecksTest, NodeSelectorNarrowsToInfraNodes) {
  SetContainer("containers", 0, kHeapster, "Never");
  rapidjson::Value selector(rapidjson::kObjectType);
  selector.AddMember("region", "infra", Alloc());
  PodSpec().AddMember("nodeSelector", selector, Alloc());
  // No failure seen yet: the three infra lists lack it -> warning only.
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "image.absent-from-node-lists");
  ASSERT_EQ(d.warnings.size(), 2u);
  EXPECT_EQ(d.warnings[0],
            "spec.containers[0].image: Never-pull image \"" + std::string(kHeapster) +
                "\" is missing from the image lists of all 3 eligible nodes (nodeSelector)");
  EXPECT_THAT(d.warnings[1], StartsWith("Load the image onto the nodes"));
  // ErrImageNeverPull seen on one infra node: deny.
  ObserveNeverPull(kHeapster, kInfra02, 3min);
  d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("ErrImageNeverPull on " + std::string(kInfra02) +
                                   " 3m ago; 3 of 3 eligible (nodeSelector) nodes lack it."));
  // Selecting the primary region (compute04 has it): allowed.
  PodSpec()["nodeSelector"]["region"].SetString("primary", Alloc());
  EXPECT_TRUE(Check().allowed);
}

TEST_F(ImageChecksTest, RequiredAffinityNarrows) {
  SetContainer("containers", 1, kHeapster, "Never");
  rapidjson::Document affinity(&Alloc());
  affinity.Parse(R"({"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{
      "nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"In",
      "values":["ladislav-ocp-3.6-infra01.10.35.49.18.nip.io",
                "ladislav-ocp-3.6-infra02.10.35.49.19.nip.io"]}]}]}}})");
  PodSpec().AddMember("affinity", rapidjson::Value(affinity, Alloc()), Alloc());
  ObserveNeverPull(kHeapster, kInfra01, 1min);
  ObserveNeverPull(kHeapster, kInfra02, 2min);
  Decision d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("ErrImageNeverPull on " + std::string(kInfra01) +
                                   " 1m ago and on 1 more; 2 of 2 eligible (node affinity)"));
}

TEST_F(ImageChecksTest, UnknownImageIsNotDeniedWithoutEvidence) {
  // Nothing known, pull policy IfNotPresent: silent.
  SetContainer("containers", 1, kOptio, "IfNotPresent");
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  // Never, and every node's complete list lacks it: warned, not denied (lists lag).
  SetContainer("containers", 1, kOptio, "Never");
  d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "image.absent-from-node-lists");
  ASSERT_FALSE(d.warnings.empty());
  EXPECT_THAT(d.warnings[0],
              AllOf(StartsWith("spec.containers[1].image: Never-pull image \"optio-node:latest\""),
                    HasSubstr("all 9 eligible nodes")));
}

TEST_F(ImageChecksTest, TruncatedListsAreNotEvidenceOfAbsence) {
  SetContainer("containers", 1, kOptio, "Never");
  facts_.nodes[facts_.node_index.at(kCompute02)].images_maybe_truncated = true;
  IndexNodes(facts_);
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  // A failure on the truncated node is evidence: now every node is known to lack it.
  ObserveNeverPull(kOptio, kCompute02, 10s);
  d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("9 of 9 eligible nodes lack it"));
}

TEST_F(ImageChecksTest, AllNodesCaseUsesTheCountsInTheFacts) {
  SetContainer("containers", 1, kOptio, "Never");
  // The builder says no list is complete: the policy trusts the count, no node walk.
  facts_.complete_image_list_nodes = 0;
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  // Indexes left unfilled: the policy counts itself.
  facts_.complete_image_list_nodes = -1;
  facts_.node_index.clear();
  d = Check();
  EXPECT_EQ(d.rule, "image.absent-from-node-lists");
}

TEST_F(ImageChecksTest, IfNotPresentIsNotANeverPullProblem) {
  SetContainer("containers", 1, kOptio, "IfNotPresent");
  ObserveNeverPull(kOptio, kInfra01, 1min);
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  EXPECT_THAT(d.audit_annotations, IsEmpty());
}

TEST_F(ImageChecksTest, StaleOrUnsyncedKnowledgeAllows) {
  SetContainer("containers", 1, kOptio, "Never");
  fresh_at_ = now_ - 6min;  // beyond the default 5 minutes
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());  // list absence alone is not concrete
  // A fresh observation is concrete: warned, with the knowledge age.
  ObserveNeverPull(kOptio, kInfra01, 2min);
  d = Check();
  EXPECT_TRUE(d.allowed);
  ASSERT_FALSE(d.warnings.empty());
  EXPECT_THAT(d.warnings[0], HasSubstr("(cluster knowledge 6m old)"));
  EXPECT_EQ(d.rule, "image.never-pull-absent");
  // A larger bound makes it fresh again: denied.
  config_.Mutable<ImageOptions>().max_knowledge_age_seconds = 600;
  EXPECT_FALSE(Check().allowed);
  // Not synced: nothing is denied.
  facts_.synced = false;
  d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings[0], HasSubstr("cluster knowledge not synced yet"));
}

TEST_F(ImageChecksTest, ExpiredObservationsAreIgnored) {
  // One minikube node (k9s fixture) whose list is treated as truncated: only an
  // observation can prove absence there.
  auto minikube = testing::LoadFixtureJson("nodes/k9s_no.json");
  facts_ = FactsFromNodeList(*minikube);
  facts_.nodes[0].images_maybe_truncated = true;
  IndexNodes(facts_, false);
  auto pod = testing::LoadFixtureJson("pods/k9s_po.json");  // nodeName: minikube
  rapidjson::Pointer("/spec/containers/0/image").Set(*pod, kOptio);
  rapidjson::Pointer("/spec/containers/0/imagePullPolicy").Set(*pod, "Never");
  PolicyContext context{config_, facts_, now_, fresh_at_};

  ObserveNeverPull(kOptio, "minikube", 11min);  // default TTL 10 minutes
  Decision d = CheckPodSpecImages((*pod)["spec"], "spec", context);
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());

  config_.Mutable<ImageOptions>().max_observation_age_seconds = 900;
  d = CheckPodSpecImages((*pod)["spec"], "spec", context);
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("ErrImageNeverPull on minikube 11m ago; 1 of 1 eligible "
                                   "(nodeName) nodes lack it."));

  // Past the TTL but a pod still shows the failure (it gets no new status updates while
  // stuck): the observation is current evidence and still denies.
  config_.Mutable<ImageOptions>().max_observation_age_seconds = 600;
  facts_.absent_on_node[Key(kOptio)][0].last_seen = now_ - 2h;
  facts_.absent_on_node[Key(kOptio)][0].active = 1;
  d = CheckPodSpecImages((*pod)["spec"], "spec", context);
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("ErrImageNeverPull on minikube 2h ago"));
}

TEST_F(ImageChecksTest, EnforcementWarnAndDryrun) {
  SetContainer("containers", 1, kOptio, "Never");
  ObserveNeverPull(kOptio, kInfra01, 2min);

  config_.Mutable<ImageOptions>().never_pull_absent = Enforcement::kWarn;
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "image.never-pull-absent");
  ASSERT_EQ(d.warnings.size(), 2u);
  for (const auto& w : d.warnings) {
    EXPECT_THAT(w, Not(StartsWith("Warning:")));
    EXPECT_LE(w.size(), 256u);
  }
  EXPECT_EQ(d.warnings[0],
            "spec.containers[1].image: Never-pull image \"optio-node:latest\" is absent on all 9 "
            "eligible nodes: ErrImageNeverPull on " +
                std::string(kInfra01) + " 2m ago");
  EXPECT_LE(d.warnings[1].size(), 120u);
  EXPECT_THAT(Annotation(d, "image.never-pull-absent"), StartsWith("warn: "));

  config_.Mutable<ImageOptions>().never_pull_absent = Enforcement::kDryRun;
  d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  EXPECT_EQ(d.message, "");
  EXPECT_EQ(d.rule, "image.never-pull-absent");
  EXPECT_THAT(Annotation(d, "image.never-pull-absent"), StartsWith("dryrun: "));

  // absentFromNodeLists configured to deny.
  facts_.absent_on_node.clear();
  config_.Mutable<ImageOptions>().absent_from_node_lists = Enforcement::kDeny;
  d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "image.absent-from-node-lists");
  EXPECT_THAT(d.message, StartsWith("Container image \"optio-node:latest\" is not present with "
                                    "pull policy of Never (spec.containers[1].image): missing "
                                    "from the image lists of 9 of 9 eligible nodes."));
}

TEST_F(ImageChecksTest, InitAndEphemeralContainersAreChecked) {
  // Real pods with an init container and with an ephemeral container (kubewarden
  // fixtures), edited to use an absent image with pull policy Never.
  auto init = testing::LoadFixtureJson(
      "admission/kubewarden-pod-privileged_privileged_init_container.json");
  rapidjson::Pointer("/object/spec/initContainers/0/image").Set(*init, kOptio);
  rapidjson::Pointer("/object/spec/initContainers/0/imagePullPolicy").Set(*init, "Never");
  auto ephemeral = testing::LoadFixtureJson(
      "admission/kubewarden-pod-privileged_privileged_ephemeral_container.json");
  rapidjson::Pointer("/object/spec/ephemeralContainers/0/image").Set(*ephemeral, kOptio);
  rapidjson::Pointer("/object/spec/ephemeralContainers/0/imagePullPolicy").Set(*ephemeral, "Never");
  ObserveNeverPull(kOptio, kInfra01, 1min);
  PolicyContext context{config_, facts_, now_, fresh_at_};

  Decision d = CheckPodSpecImages((*init)["object"]["spec"], "spec", context);
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("(spec.initContainers[0].image)"));
  d = CheckPodSpecImages((*ephemeral)["object"]["spec"], "spec", context);
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("(spec.ephemeralContainers[0].image)"));
}

TEST_F(ImageChecksTest, AllViolationsInOneDenial) {
  SetContainer("containers", 0, kOptio, "Never");
  SetContainer("containers", 1, "optio-worker:dev", "Never");
  ObserveNeverPull(kOptio, kInfra01, 1min);
  ObserveNeverPull("optio-worker:dev", kInfra02, 4min);
  Decision d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("\"optio-node:latest\" is not present"));
  EXPECT_THAT(d.message, HasSubstr("\nContainer image \"optio-worker:dev\" is not present"));
  // The shared remedy is written once.
  const std::string remedy = config_.Get<ImageOptions>().default_remedy;
  const size_t first = d.message.find(remedy);
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(d.message.find(remedy, first + 1), std::string::npos);
  // One annotation for the rule, naming both.
  EXPECT_THAT(Annotation(d, "image.never-pull-absent"),
              AllOf(HasSubstr("optio-node:latest"), HasSubstr("optio-worker:dev")));
  EXPECT_EQ(d.audit_annotations.size(), 1u);
}

TEST_F(ImageChecksTest, SameImageInSeveralContainersIsOneFinding) {
  SetContainer("containers", 0, kOptio, "Never");
  SetContainer("containers", 1, kOptio, "Never");
  ObserveNeverPull(kOptio, kInfra01, 1min);
  Decision d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("(spec.containers[0].image, spec.containers[1].image)"));
  EXPECT_EQ(d.message.find('\n'), std::string::npos);
}

TEST_F(ImageChecksTest, RemedyTemplateMatchesImagePattern) {
  config_.Mutable<ImageOptions>().remedies = {
      {"quay.io/*", "never used"},
      {"optio-*", "Build it with `make images` and run kind load docker-image {image}."}};
  SetContainer("containers", 1, kOptio, "Never");
  ObserveNeverPull(kOptio, kInfra01, 1min);
  Decision d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("lack it. Build it with `make images` and run kind load "
                                   "docker-image optio-node:latest."));
  EXPECT_THAT(d.message, Not(HasSubstr("never used")));
}

TEST_F(ImageChecksTest, MissingFromRegistryWarnsForPullingPolicies) {
  SetContainer("containers", 1, "optio-node:v9", "IfNotPresent");
  ObserveRegistryNotFound("optio-node:v9", 45s);
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "image.missing-from-registry");
  ASSERT_EQ(d.warnings.size(), 2u);
  EXPECT_EQ(d.warnings[0],
            "spec.containers[1].image: \"optio-node:v9\" is missing from its "
            "registry (ErrImagePull not found 45s ago)");
  EXPECT_EQ(d.warnings[1], "Check the image name and tag, or push the image to its registry.");

  config_.Mutable<ImageOptions>().missing_from_registry = Enforcement::kDeny;
  SetContainer("containers", 1, "optio-node:v9", "Always");
  d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "image.missing-from-registry");
  EXPECT_THAT(d.message, HasSubstr("was recently not found in its registry"));

  // Expired: ignored.
  facts_.missing_from_registry[Key("optio-node:v9")].last_seen = now_ - 20min;
  EXPECT_TRUE(Check().allowed);
  // Unless a pod still shows it.
  facts_.missing_from_registry[Key("optio-node:v9")].active = 2;
  EXPECT_FALSE(Check().allowed);
}

TEST_F(ImageChecksTest, MissingFromRegistryButOnAnEligibleNodeIsFine) {
  SetContainer("containers", 1, kHeapster, "IfNotPresent");
  ObserveRegistryNotFound(kHeapster, 1min);
  config_.Mutable<ImageOptions>().missing_from_registry = Enforcement::kDeny;
  EXPECT_TRUE(Check().allowed);
  // Narrowed to infra nodes, none has it.
  rapidjson::Value selector(rapidjson::kObjectType);
  selector.AddMember("region", "infra", Alloc());
  PodSpec().AddMember("nodeSelector", selector, Alloc());
  EXPECT_FALSE(Check().allowed);
  // Pull policy Never never pulls: not this rule.
  SetContainer("containers", 1, kHeapster, "Never");
  EXPECT_NE(Check().rule, "image.missing-from-registry");
}

TEST_F(ImageChecksTest, InvalidReferenceDenied) {
  if (!GrammarAvailable()) GTEST_SKIP() << "image reference grammar not in place yet";
  SetContainer("containers", 1, "Optio-Node:latest", "Never");
  Decision d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "image.invalid-reference");
  EXPECT_THAT(d.message, AllOf(StartsWith("spec.containers[1].image: InvalidImageName: couldn't "
                                          "parse image name \"Optio-Node:latest\": "),
                               HasSubstr("must be lowercase")));
  // A sha256 digest of 40 hex digits: well-formed syntax, wrong length.
  SetContainer("containers", 1, "nginx@sha256:" + std::string(40, 'a'), "IfNotPresent");
  d = Check();
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("digest"));
  SetContainer("containers", 1, "nginx:-bad-tag", "IfNotPresent");
  EXPECT_FALSE(Check().allowed);
  config_.Mutable<ImageOptions>().invalid_reference = Enforcement::kWarn;
  d = Check();
  EXPECT_TRUE(d.allowed);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_THAT(d.warnings[0], StartsWith("spec.containers[1].image: InvalidImageName:"));
}

TEST_F(ImageChecksTest, TagAndDigestMatchTheDigestNameInNodeLists) {
  if (!GrammarAvailable()) GTEST_SKIP() << "image reference grammar not in place yet";
  // compute04 lists heapster by tag and by digest; a tag@digest reference normalises to
  // neither, so the digest form is looked up too.
  const std::string image =
      std::string(kHeapster) +
      "@sha256:bf707820b09a15d06fbf992eb0ed110753a4692bde728b99a10d37b9ca467fa9";
  SetContainer("containers", 1, image, "Never");
  ASSERT_EQ(facts_.nodes_with_image.count(Key(image)), 0u);
  Decision d = Check();
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
}

TEST_F(ImageChecksTest, DefaultPullPolicyFollowsTheTag) {
  if (!GrammarAvailable()) GTEST_SKIP() << "image reference grammar not in place yet";
  // No imagePullPolicy (a raw manifest reviewed offline): ":latest" defaults to Always,
  // so a never-pull observation is not relevant.
  SetContainer("containers", 1, kOptio, "");
  PodSpec()["containers"][1].RemoveMember("imagePullPolicy");
  ObserveNeverPull(kOptio, kInfra01, 1min);
  EXPECT_TRUE(Check().allowed);
}

}  // namespace
}  // namespace backstop::policy
