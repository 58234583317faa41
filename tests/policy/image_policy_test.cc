#include "policy/image_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "base/json_util.h"
#include "policy/config.h"
#include "policy/engine.h"
#include "policy/image_ref.h"
#include "tests/support/fixtures.h"

namespace backstop::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using namespace std::chrono_literals;

StatusOr<PolicyConfig> ParseConfig(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return ParsePolicyConfig(doc);
}

// ---- configuration ------------------------------------------------------------------

TEST(ImageOptionsTest, DefaultsWhenAbsent) {
  auto config = ParseConfig("{}");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const ImageOptions& o = config->Get<ImageOptions>();
  EXPECT_EQ(o.never_pull_absent, Enforcement::kDeny);
  EXPECT_EQ(o.absent_from_node_lists, Enforcement::kWarn);
  EXPECT_EQ(o.never_pull_some_nodes, Enforcement::kWarn);
  EXPECT_EQ(o.missing_from_registry, Enforcement::kWarn);
  EXPECT_EQ(o.invalid_reference, Enforcement::kDeny);
  EXPECT_EQ(o.max_knowledge_age_seconds, 300);
  EXPECT_EQ(o.max_observation_age_seconds, 600);
  EXPECT_THAT(o.remedies, IsEmpty());
  EXPECT_THAT(o.default_remedy, StartsWith("Load the image onto the nodes"));
  EXPECT_LE(o.default_remedy.size(), 120u);
}

TEST(ImageOptionsTest, ReadsEveryKey) {
  auto config = ParseConfig(R"({"images":{
      "neverPullAbsent":{"enforcement":"dryrun"},
      "absentFromNodeLists":{"enforcement":"deny"},
      "neverPullSomeNodes":{"enforcement":"dryrun"},
      "missingFromRegistry":{"enforcement":"deny"},
      "invalidReference":{"enforcement":"warn"},
      "maxKnowledgeAgeSeconds":120,
      "observationTtlSeconds":1800,
      "remedies":[{"pattern":"optio-*","text":"make images && kind load docker-image {image}"}],
      "defaultRemedy":"Ask the platform team."}})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const ImageOptions& o = config->Get<ImageOptions>();
  EXPECT_EQ(o.never_pull_absent, Enforcement::kDryRun);
  EXPECT_EQ(o.absent_from_node_lists, Enforcement::kDeny);
  EXPECT_EQ(o.never_pull_some_nodes, Enforcement::kDryRun);
  EXPECT_EQ(o.missing_from_registry, Enforcement::kDeny);
  EXPECT_EQ(o.invalid_reference, Enforcement::kWarn);
  EXPECT_EQ(o.max_knowledge_age_seconds, 120);
  EXPECT_EQ(o.max_observation_age_seconds, 1800);
  ASSERT_EQ(o.remedies.size(), 1u);
  EXPECT_EQ(o.remedies[0].pattern, "optio-*");
  EXPECT_EQ(o.default_remedy, "Ask the platform team.");
}

struct ConfigErrorCase {
  const char* name;
  const char* images_json;
  const char* expected;  // one line of the error
};
void PrintTo(const ConfigErrorCase& c, std::ostream* os) { *os << c.name; }

class ImageOptionsErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(ImageOptionsErrorTest, Rejected) {
  const ConfigErrorCase& c = GetParam();
  auto config = ParseConfig(std::string(R"({"images":)") + c.images_json + "}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(c.expected));
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ImageOptionsErrorTest,
    ::testing::Values(
        ConfigErrorCase{"UnknownKey", R"({"neverPull":{"enforcement":"deny"}})",
                        "images.neverPull: unknown key"},
        ConfigErrorCase{"UnknownRuleKey", R"({"neverPullAbsent":{"action":"deny"}})",
                        "images.neverPullAbsent.action: unknown key"},
        ConfigErrorCase{"BadEnforcement", R"({"neverPullAbsent":{"enforcement":"block"}})",
                        "images.neverPullAbsent.enforcement: must be one of deny, warn, dryrun, "
                        "got \"block\""},
        ConfigErrorCase{"SomeNodesCannotDeny", R"({"neverPullSomeNodes":{"enforcement":"deny"}})",
                        "images.neverPullSomeNodes.enforcement: must be one of warn, dryrun"},
        ConfigErrorCase{"RuleNotObject", R"({"invalidReference":"deny"})",
                        "images.invalidReference: must be an object, got string"},
        ConfigErrorCase{"AgeZero", R"({"maxKnowledgeAgeSeconds":0})",
                        "images.maxKnowledgeAgeSeconds: must be between 1 and 604800, got 0"},
        ConfigErrorCase{"TtlString", R"({"observationTtlSeconds":"10m"})",
                        "images.observationTtlSeconds: must be an integer, got string"},
        ConfigErrorCase{"RemediesNotList", R"({"remedies":{"pattern":"x"}})",
                        "images.remedies: must be a list of {pattern, text}, got object"},
        ConfigErrorCase{"RemedyWithoutText", R"({"remedies":[{"pattern":"optio-*"}]})",
                        "images.remedies[0].text: required"},
        ConfigErrorCase{
            "RemedyUnknownKey",
            R"({"remedies":[{"pattern":"a","text":"b"},{"pattern":"c","text":"d","glob":true}]})",
            "images.remedies[1].glob: unknown key"},
        ConfigErrorCase{"RemedyPatternNotString", R"({"remedies":[{"pattern":1,"text":"b"}]})",
                        "images.remedies[0].pattern: must be a string, got integer"},
        ConfigErrorCase{"EmptyDefaultRemedy", R"({"defaultRemedy":""})",
                        "images.defaultRemedy: must not be empty"},
        ConfigErrorCase{"NotObject", R"([1])", "images: must be an object, got array"}),
    [](const ::testing::TestParamInfo<ConfigErrorCase>& p) { return std::string(p.param.name); });

TEST(ImageOptionsTest, ReportsAllProblemsTogether) {
  auto config = ParseConfig(
      R"({"images":{"neverPullAbsent":{"enforcement":"no"},"observationTtlSeconds":-1}})");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("images.neverPullAbsent.enforcement"));
  EXPECT_THAT(config.status().message(), HasSubstr("\nimages.observationTtlSeconds"));
}

// ---- remedies ------------------------------------------------------------------------

TEST(RemedyTest, GlobMatch) {
  EXPECT_TRUE(GlobMatch("optio-*", "optio-node:latest"));
  EXPECT_TRUE(GlobMatch("*optio-*", "docker.io/library/optio-node:latest"));
  EXPECT_TRUE(GlobMatch("ghcr.io/*/agent:v?", "ghcr.io/acme/agent:v1"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(GlobMatch("optio-*", "docker.io/library/optio-node:latest"));
  EXPECT_FALSE(GlobMatch("ghcr.io/*/agent:v?", "ghcr.io/acme/agent:v10"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXbYbZ"));
  EXPECT_FALSE(GlobMatch("", "x"));
}

TEST(RemedyTest, FirstMatchingTemplateWinsElseDefault) {
  ImageOptions o;
  o.remedies = {{"optio-*", "kind load docker-image {image} --name optio"},
                {"*", "catch-all for {image}"}};
  EXPECT_EQ(RemedyFor(o, "optio-node:latest", "docker.io/library/optio-node:latest"),
            "kind load docker-image optio-node:latest --name optio");
  EXPECT_EQ(RemedyFor(o, "busybox", "docker.io/library/busybox:latest"), "catch-all for busybox");
  // The normalised form is tried too.
  o.remedies = {{"docker.io/library/optio-*", "normalised {image}"}};
  EXPECT_EQ(RemedyFor(o, "optio-node", "docker.io/library/optio-node:latest"),
            "normalised optio-node");
  // No match: the fallback, else the default.
  EXPECT_EQ(RemedyFor(o, "busybox", "busybox", "push it"), "push it");
  EXPECT_EQ(RemedyFor(o, "busybox", "busybox"), o.default_remedy);
}

// ---- admission of Pods, Jobs and CronJobs -------------------------------------------

// Builds facts for the 9-node OpenShift fixture's node names with complete (empty here)
// image lists, and an ErrImageNeverPull observation for optio-node:latest on one node as
// the watcher records it from a pod status edited to kubelet's exact reason and message.
class PodImagesAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BACKSTOP_REQUIRE_FIXTURES();
    auto nodes = testing::LoadFixtureJson("nodes/miq-openshift_nodelist_9nodes_images.json");
    facts_.synced = true;
    for (const auto& n : (*nodes)["items"].GetArray()) {
      NodeFacts nf;
      nf.name = n["metadata"]["name"].GetString();
      for (const auto& entry : n["status"]["images"].GetArray()) {
        for (const auto& name : entry["names"].GetArray()) {
          if (auto key = NormalizeImage(name.GetString())) nf.images.push_back(*key);
        }
      }
      facts_.nodes.push_back(std::move(nf));
    }
    IndexNodes(facts_);
    ImageObservation o;
    o.node = facts_.nodes[2].name;
    o.pod = "tasks/optio-task-12";
    o.reason = "ErrImageNeverPull";
    o.message = "Container image \"optio-node:latest\" is not present with pull policy of Never";
    o.count = 4;
    o.last_seen = now_ - 2min;
    facts_.absent_on_node[NormalizeImage("optio-node:latest").value()].push_back(o);
  }

  Decision Validate(const rapidjson::Value* object, const std::string& group,
                    const std::string& kind, Operation op = Operation::kCreate,
                    const rapidjson::Value* old_object = nullptr) {
    AdmissionRequest request;
    request.kind = {group, "v1", kind};
    request.operation = op;
    request.object = object;
    request.old_object = old_object;
    PolicyContext context{config_, facts_, now_, now_};
    return policy::Validate(request, context);
  }

  PolicyConfig config_;
  ClusterFacts facts_;
  TimePoint now_ = TimePoint(std::chrono::sys_days(std::chrono::year(2026) / 11 / 23)) + 9h;
};

TEST_F(PodImagesAdmissionTest, PodCreateFromRealReview) {
  auto review = testing::LoadFixtureJson("admission/kube-rs_gke_v1_pod_create_wire.json");
  const rapidjson::Value* object = Find(review.get(), {"request", "object"});
  ASSERT_NE(object, nullptr);
  Decision d = Validate(object, "", "Pod");
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.warnings, IsEmpty());
  // Edited: the echo server image replaced by a locally built one with pull policy Never.
  rapidjson::Pointer("/request/object/spec/containers/0/image").Set(*review, "optio-node:latest");
  rapidjson::Pointer("/request/object/spec/containers/0/imagePullPolicy").Set(*review, "Never");
  d = Validate(object, "", "Pod");
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "image.never-pull-absent");
  EXPECT_THAT(d.message, StartsWith("Container image \"optio-node:latest\" is not present with "
                                    "pull policy of Never (spec.containers[0].image): "
                                    "ErrImageNeverPull on " +
                                    facts_.nodes[2].name + " 2m ago; 9 of 9 eligible nodes"));
}

TEST_F(PodImagesAdmissionTest, JobTemplateFieldPaths) {
  // Real Job CREATE (kubewarden): perl:5.34.0, edited to optio-node:latest / Never.
  auto request = testing::LoadFixtureJson("admission/kubewarden-user-group_job_create.json");
  const rapidjson::Value* object = Member(request.get(), "object");
  ASSERT_NE(object, nullptr);
  EXPECT_TRUE(Validate(object, "batch", "Job").allowed);
  rapidjson::Pointer("/object/spec/template/spec/containers/0/image")
      .Set(*request, "optio-node:latest");
  rapidjson::Pointer("/object/spec/template/spec/containers/0/imagePullPolicy")
      .Set(*request, "Never");
  Decision d = Validate(object, "batch", "Job");
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("(spec.template.spec.containers[0].image)"));
  // The same kind name in another group is not a batch Job.
  EXPECT_TRUE(Validate(object, "example.com", "Job").allowed);
}

TEST_F(PodImagesAdmissionTest, CronJobTemplateFieldPaths) {
  // No CronJob among the fixtures: a CronJob built around the real Job spec of k9s_job.json
  // (jobTemplate.spec = the Job's spec), its container edited to optio-node:latest / Never.
  auto job = testing::LoadFixtureJson("jobs/k9s_job.json");
  rapidjson::Document cron;
  cron.Parse(R"({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"hello"},
                 "spec":{"schedule":"*/1 * * * *","jobTemplate":{}}})");
  rapidjson::Value job_spec((*job)["spec"], cron.GetAllocator());
  rapidjson::Value job_template(rapidjson::kObjectType);
  job_template.AddMember("spec", job_spec, cron.GetAllocator());
  cron["spec"]["jobTemplate"] = job_template;
  rapidjson::Pointer("/spec/jobTemplate/spec/template/spec/containers/0/image")
      .Set(cron, "optio-node:latest");
  rapidjson::Pointer("/spec/jobTemplate/spec/template/spec/containers/0/imagePullPolicy")
      .Set(cron, "Never");
  Decision d = Validate(&cron, "batch", "CronJob");
  ASSERT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("(spec.jobTemplate.spec.template.spec.containers[0].image)"));
  EXPECT_THAT(d.audit_annotations[0].second,
              StartsWith("deny: spec.jobTemplate.spec.template.spec.containers[0].image"));
}

TEST_F(PodImagesAdmissionTest, UpdateChecksOnlyNewImages) {
  // A pod that already has the absent image (e.g. created before the knowledge existed):
  // updating its labels or finalizers must not be refused.
  auto review = testing::LoadFixtureJson("admission/kwctl_v1_review_privileged_pod_create.json");
  rapidjson::Pointer("/request/object/spec/containers/1/image").Set(*review, "optio-node:latest");
  rapidjson::Pointer("/request/object/spec/containers/1/imagePullPolicy").Set(*review, "Never");
  const rapidjson::Value* object = Find(review.get(), {"request", "object"});
  rapidjson::Document old;
  old.CopyFrom(*object, old.GetAllocator());
  rapidjson::Pointer("/metadata/labels/stage").Set(old, "before");
  EXPECT_TRUE(Validate(object, "", "Pod", Operation::kUpdate, &old).allowed);
  // Changing an image to the absent one is checked.
  rapidjson::Pointer("/spec/containers/1/image").Set(old, "nginx");
  EXPECT_FALSE(Validate(object, "", "Pod", Operation::kUpdate, &old).allowed);
  // DELETE passes untouched.
  EXPECT_TRUE(Validate(object, "", "Pod", Operation::kDelete).allowed);
}

TEST_F(PodImagesAdmissionTest, ObjectWithoutSpecIsAllowed) {
  rapidjson::Document pod;
  pod.Parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}})");
  EXPECT_TRUE(Validate(&pod, "", "Pod").allowed);
  EXPECT_TRUE(Validate(nullptr, "", "Pod").allowed);
}

}  // namespace
}  // namespace backstop::policy
