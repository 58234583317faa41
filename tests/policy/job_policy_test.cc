#include "policy/job_policy.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/documents.h"
#include "base/json_util.h"
#include "policy/config.h"
#include "policy/engine.h"
#include "policy/image_checks.h"
#include "tests/support/admission_review.h"
#include "tests/support/fixtures.h"
#include "webhook/codec.h"

namespace backstop::policy {
namespace {

using nlohmann::json;

const char kSourceKey[] = "backstop.dev/active-deadline-seconds-source";
const char kOverrideKey[] = "backstop.dev/active-deadline-seconds";

json ToNlohmann(const rapidjson::Value& v) { return json::parse(ToJson(v)); }

json LoadFixture(const std::string& relative) {
  auto doc = testing::LoadFixtureJson(relative);
  return ToNlohmann(*doc);
}

// The gitops-engine Jobs and the k9s Job: real batch/v1 Jobs as the apiserver stores them.
const char* const kFixtureJobs[] = {"jobs/gitops-engine_job-failed.yaml",
                                    "jobs/gitops-engine_job-running.yaml",
                                    "jobs/gitops-engine_job-succeeded.yaml",
                                    "jobs/gitops-engine_job-suspended.yaml", "jobs/k9s_job.json"};

// Builds an admission.k8s.io/v1 AdmissionReview around `object`.
json Review(const json& object, const std::string& operation, const json* old_object = nullptr) {
  testing::ReviewSpec spec;
  spec.uid = "0df28fbd-5f5f-11e8-bc74-36e6bb280816";
  spec.group = "batch";
  spec.kind = object.value("kind", "Job");
  spec.resource = spec.kind == "CronJob" ? "cronjobs" : "jobs";
  spec.name = object["metadata"].value("name", "");
  spec.ns = object["metadata"].value("namespace", "default");
  spec.operation = operation;
  spec.username = "system:serviceaccount:agents:spawner";
  spec.object = object;
  if (old_object != nullptr) spec.old_object = *old_object;
  return testing::AdmissionReview(spec);
}

webhook::DecodedReview Decode(const std::string& body, bool bare = false) {
  return testing::DecodeOrFail(body, bare);
}

// A parsed policy configuration and empty (unsynced) cluster knowledge.
class Harness {
 public:
  explicit Harness(const std::string& config_json = "{}") {
    rapidjson::Document doc;
    doc.Parse(config_json.c_str());
    EXPECT_FALSE(doc.HasParseError()) << config_json;
    auto parsed = ParsePolicyConfig(doc);
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.status().message());
    if (parsed.ok()) config_ = std::move(parsed.value());
    now_ = TimePoint(std::chrono::seconds(1767225600));
  }

  PolicyContext Context() const { return PolicyContext{config_, facts_, now_, now_}; }

  Decision Run(const webhook::DecodedReview& review) const {
    return Mutate(review.request, Context());
  }
  Decision Run(const json& review) const { return Run(Decode(review.dump())); }

 private:
  PolicyConfig config_;
  ClusterFacts facts_;
  TimePoint now_;
};

// Applies the decision's JSON Patch with nlohmann's own RFC 6902 implementation.
json Apply(const json& object, const Decision& d) {
  return object.patch(json::parse(webhook::PatchJson(d.patch)));
}

std::vector<std::string> Paths(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& op : d.patch) out.push_back(op.op + " " + op.path);
  return out;
}

// Every operation touches one field (or one missing parent), never the object or spec.
void ExpectMinimal(const Decision& d) {
  for (const auto& op : d.patch) {
    EXPECT_NE(op.path, "");
    EXPECT_NE(op.path, "/spec");
    EXPECT_NE(op.path, "/metadata");
    EXPECT_TRUE(op.op == "add" || op.op == "replace") << op.op;
  }
}

// Runs Mutate on the patched object again (as reinvocationPolicy: IfNeeded does) and
// expects no further change.
void ExpectIdempotent(const Harness& h, const json& patched,
                      const std::string& operation = "CREATE") {
  const Decision again =
      h.Run(Review(patched, operation, operation == "UPDATE" ? &patched : nullptr));
  EXPECT_TRUE(again.allowed) << again.message;
  EXPECT_TRUE(again.patch.empty()) << webhook::PatchJson(again.patch);
}

TEST(JobPolicyTest, FixtureJobsGetTheDefaultDeadlineAndNothingElse) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  for (const char* file : kFixtureJobs) {
    SCOPED_TRACE(file);
    const json job = LoadFixture(file);
    ASSERT_FALSE(job["spec"].contains("activeDeadlineSeconds"));
    const Decision d = h.Run(Review(job, "CREATE"));
    ASSERT_TRUE(d.allowed) << d.message;
    ExpectMinimal(d);
    // The fixtures carry no annotations: the annotation map is created once.
    EXPECT_EQ(Paths(d), (std::vector<std::string>{"add /spec/activeDeadlineSeconds",
                                                  "add /metadata/annotations"}));
    json expected = job;
    expected["spec"]["activeDeadlineSeconds"] = 1800;
    expected["metadata"]["annotations"] = {{kSourceKey, "default"}};
    const json patched = Apply(job, d);
    EXPECT_EQ(patched, expected) << json::diff(expected, patched).dump();
    ExpectIdempotent(h, patched);
  }
}

TEST(JobPolicyTest, KubewardenJobCreateRequestEscapesTheAnnotationPath) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  const std::string body = testing::ReadFixture("admission/kubewarden-user-group_job_create.json");
  const webhook::DecodedReview review = Decode(body, /*bare=*/true);
  ASSERT_NE(review.request.object, nullptr);
  const Decision d = h.Run(review);
  ASSERT_TRUE(d.allowed) << d.message;
  ExpectMinimal(d);
  // The Job already has annotations: one member is added, its "/" escaped as "~1".
  EXPECT_EQ(Paths(d),
            (std::vector<std::string>{
                "add /spec/activeDeadlineSeconds",
                "add /metadata/annotations/backstop.dev~1active-deadline-seconds-source"}));
  const json job = ToNlohmann(*review.request.object);
  json expected = job;
  expected["spec"]["activeDeadlineSeconds"] = 1800;
  expected["metadata"]["annotations"][kSourceKey] = "default";
  const json patched = Apply(job, d);
  EXPECT_EQ(patched, expected) << json::diff(expected, patched).dump();
  // Nothing else changed: the existing annotations and managedFields are kept as sent.
  EXPECT_EQ(patched["metadata"]["managedFields"], job["metadata"]["managedFields"]);
  EXPECT_EQ(patched["metadata"]["annotations"]["io.kubewarden.policy.echo.create"], "true");
  ExpectIdempotent(h, patched);
}

TEST(JobPolicyTest, DefaultImagePullPolicyFollowsKubernetes) {
  const std::string digest = "sha256:" + std::string(64, 'e');
  struct Case {
    std::string image;
    std::string policy;
  };
  const Case cases[] = {
      {"nginx", "Always"},
      {"nginx:latest", "Always"},
      {"nginx:1.25", "IfNotPresent"},
      {"repo@" + digest, "IfNotPresent"},
      {"localhost:5000/x", "Always"},
      {"nginx:latest@" + digest, "Always"},
      {"nginx:Latest", "IfNotPresent"},
      {"ghcr.io/example/coding-agent", "Always"},
      // Parse errors are ignored by the defaulting (the tag stays empty).
      {"Nginx", "IfNotPresent"},
      {"", "IfNotPresent"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.image);
    EXPECT_EQ(DefaultImagePullPolicy(c.image), c.policy);
  }

  // The same table through the webhook path: a real Job whose pod template lists the
  // images without a pull policy (as an undefaulted manifest would), plus init containers.
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  json job = LoadFixture("jobs/gitops-engine_job-running.yaml");
  json container = job["spec"]["template"]["spec"]["containers"][0];
  container.erase("imagePullPolicy");
  json containers = json::array();
  json inits = json::array();
  for (size_t i = 0; i < std::size(cases); ++i) {
    if (cases[i].image.empty()) continue;
    json c = container;
    c["name"] = "c" + std::to_string(i);
    c["image"] = cases[i].image;
    containers.push_back(c);
    c["name"] = "init" + std::to_string(i);
    inits.push_back(c);
  }
  // An explicit policy is never changed.
  containers[0]["imagePullPolicy"] = "Never";
  job["spec"]["template"]["spec"]["containers"] = containers;
  job["spec"]["template"]["spec"]["initContainers"] = inits;
  job["spec"]["activeDeadlineSeconds"] = 600;
  const Decision d = h.Run(Review(job, "CREATE"));
  ExpectMinimal(d);
  const json patched = Apply(job, d);
  const json& spec = patched["spec"]["template"]["spec"];
  EXPECT_EQ(spec["containers"][0]["imagePullPolicy"], "Never");
  size_t row = 0;
  for (size_t i = 0; i < std::size(cases); ++i) {
    if (cases[i].image.empty()) continue;
    SCOPED_TRACE(cases[i].image);
    if (row > 0) {
      EXPECT_EQ(spec["containers"][row]["imagePullPolicy"], cases[i].policy);
    }
    EXPECT_EQ(spec["initContainers"][row]["imagePullPolicy"], cases[i].policy);
    ++row;
  }
  // One add per container without a policy: containers minus the explicit one, and inits.
  EXPECT_EQ(d.patch.size(), 2 * row - 1);
  EXPECT_EQ(d.patch.front().path, "/spec/template/spec/initContainers/0/imagePullPolicy");
  EXPECT_EQ(patched["spec"]["activeDeadlineSeconds"], 600);
}

TEST(JobPolicyTest, ExampleJobWithoutDeadline) {
  auto docs =
      app::LoadDocuments((testing::SourceDir() / "examples/job-without-deadline.yaml").string());
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  ASSERT_EQ(docs->size(), 1u);
  const json job = ToNlohmann(*(*docs)[0].json);
  Harness h;
  const Decision d = h.Run(Review(job, "CREATE"));
  ASSERT_TRUE(d.allowed) << d.message;
  ExpectMinimal(d);
  json expected = job;
  expected["spec"]["activeDeadlineSeconds"] = 1800;
  expected["metadata"]["annotations"][kSourceKey] = "default";
  expected["spec"]["template"]["spec"]["initContainers"][0]["imagePullPolicy"] = "IfNotPresent";
  expected["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always";
  const json patched = Apply(job, d);
  EXPECT_EQ(patched, expected) << json::diff(expected, patched).dump();
  ExpectIdempotent(h, patched);
}

TEST(JobPolicyTest, AnnotationBeatsRulesAndTheFirstMatchingRuleWins) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h(R"({"jobs": {"rules": [
      {"namespaces": ["argoci-workflows"], "activeDeadlineSeconds": 600},
      {"matchLabels": {"job-name": "succeed"}, "activeDeadlineSeconds": 900},
      {"activeDeadlineSeconds": 1200}]}})");
  const json base = LoadFixture("jobs/gitops-engine_job-running.yaml");  // job-name: succeed

  auto deadline_of = [&](const json& job) {
    const Decision d = h.Run(Review(job, "CREATE"));
    EXPECT_TRUE(d.allowed) << d.message;
    const json patched = Apply(job, d);
    return std::make_pair(patched["spec"].value("activeDeadlineSeconds", 0),
                          patched["metadata"]["annotations"].value(kSourceKey, ""));
  };
  // Namespace rule first, though the label rule matches too.
  EXPECT_EQ(deadline_of(base), std::make_pair(600, std::string("rule[0]")));
  // Another namespace: the label rule.
  json other_ns = base;
  other_ns["metadata"]["namespace"] = "agents";
  EXPECT_EQ(deadline_of(other_ns), std::make_pair(900, std::string("rule[1]")));
  // Neither: the catch-all rule (no namespaces, no labels).
  json neither = other_ns;
  neither["metadata"]["labels"]["job-name"] = "other";
  EXPECT_EQ(deadline_of(neither), std::make_pair(1200, std::string("rule[2]")));
  // The annotation beats every rule.
  json annotated = base;
  annotated["metadata"]["annotations"][kOverrideKey] = "7200";
  EXPECT_EQ(deadline_of(annotated), std::make_pair(7200, std::string("annotation")));

  // Without rules: the configured default.
  Harness plain(R"({"jobs": {"defaultActiveDeadlineSeconds": 3600}})");
  const Decision d = plain.Run(Review(base, "CREATE"));
  EXPECT_EQ(Apply(base, d)["spec"]["activeDeadlineSeconds"], 3600);
}

TEST(JobPolicyTest, PresentDeadlineIsNeverOverwrittenOrLowered) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h(R"({"jobs": {"rules": [{"activeDeadlineSeconds": 600}]}})");
  json job = LoadFixture("jobs/k9s_job.json");
  for (int present : {60, 600, 86400 * 30}) {
    SCOPED_TRACE(present);
    job["spec"]["activeDeadlineSeconds"] = present;
    job["metadata"]["annotations"][kOverrideKey] = "7200";
    const Decision d = h.Run(Review(job, "CREATE"));
    ASSERT_TRUE(d.allowed) << d.message;
    EXPECT_TRUE(d.patch.empty()) << webhook::PatchJson(d.patch);
    EXPECT_TRUE(d.warnings.empty());
  }
}

TEST(JobPolicyTest, CeilingClampsWithAWarning) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h(R"({"jobs": {"maxActiveDeadlineSeconds": 3600}})");
  json job = LoadFixture("jobs/gitops-engine_job-failed.yaml");

  job["spec"]["activeDeadlineSeconds"] = 7200;
  Decision d = h.Run(Review(job, "CREATE"));
  ASSERT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(Paths(d), std::vector<std::string>{"replace /spec/activeDeadlineSeconds"});
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "spec.activeDeadlineSeconds lowered from 7200 to the maximum 3600 "
            "(jobs.maxActiveDeadlineSeconds)");
  EXPECT_LE(d.warnings[0].size(), 120u);
  json patched = Apply(job, d);
  EXPECT_EQ(patched["spec"]["activeDeadlineSeconds"], 3600);
  ExpectIdempotent(h, patched);

  // An annotation above the ceiling is clamped the same way.
  job["spec"].erase("activeDeadlineSeconds");
  job["metadata"]["annotations"][kOverrideKey] = "7200";
  d = h.Run(Review(job, "CREATE"));
  ASSERT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("lowered to the maximum 3600"), std::string::npos) << d.warnings[0];
  patched = Apply(job, d);
  EXPECT_EQ(patched["spec"]["activeDeadlineSeconds"], 3600);
  EXPECT_EQ(patched["metadata"]["annotations"][kSourceKey], "annotation");
  ExpectIdempotent(h, patched);
}

TEST(JobPolicyTest, CeilingDeniesWhereConfigured) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h(R"({"jobs": {"maxActiveDeadlineSeconds": 3600, "aboveMax": "deny"}})");
  json job = LoadFixture("jobs/gitops-engine_job-failed.yaml");
  job["spec"]["activeDeadlineSeconds"] = 7200;
  Decision d = h.Run(Review(job, "CREATE"));
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 403);
  EXPECT_EQ(d.message,
            "spec.activeDeadlineSeconds: 7200 is above the maximum 3600 seconds allowed "
            "(jobs.maxActiveDeadlineSeconds)");
  EXPECT_TRUE(d.patch.empty());

  job["spec"].erase("activeDeadlineSeconds");
  job["metadata"]["annotations"][kOverrideKey] = "86400";
  d = h.Run(Review(job, "CREATE"));
  ASSERT_FALSE(d.allowed);
  EXPECT_NE(d.message.find("metadata.annotations[backstop.dev/active-deadline-seconds]: 86400"),
            std::string::npos)
      << d.message;

  // At the ceiling is fine.
  job["metadata"]["annotations"][kOverrideKey] = "3600";
  d = h.Run(Review(job, "CREATE"));
  EXPECT_TRUE(d.allowed) << d.message;
}

TEST(JobPolicyTest, InvalidOverrideAnnotationIsDenied) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  json job = LoadFixture("jobs/gitops-engine_job-succeeded.yaml");
  for (const char* bad : {"30m", "-5", "0", "", " 600", "1.5", "1e3", "9999999999999"}) {
    SCOPED_TRACE(bad);
    job["metadata"]["annotations"][kOverrideKey] = bad;
    const Decision d = h.Run(Review(job, "CREATE"));
    ASSERT_FALSE(d.allowed);
    EXPECT_EQ(d.code, 422);
    EXPECT_EQ(d.reason, "Invalid");
    EXPECT_EQ(d.message,
              "metadata.annotations[backstop.dev/active-deadline-seconds]: invalid value " +
                  json(bad).dump() +
                  ": must be a whole number of seconds from 1 to 999999999999, written "
                  "as a string of digits, e.g. \"3600\"");
    EXPECT_TRUE(d.patch.empty());
  }
}

// A CronJob around the k9s Job's spec (that Job was created by CronJob "hello").
json CronJobFromFixture() {
  json job = LoadFixture("jobs/k9s_job.json");
  json spec = job["spec"];
  spec.erase("selector");
  spec["template"]["metadata"] = {{"creationTimestamp", nullptr}};
  for (auto& c : spec["template"]["spec"]["containers"]) c.erase("imagePullPolicy");
  return json{
      {"apiVersion", "batch/v1"},
      {"kind", "CronJob"},
      {"metadata", {{"name", "hello"}, {"namespace", "default"}}},
      {"spec",
       {{"schedule", "*/1 * * * *"},
        {"concurrencyPolicy", "Forbid"},
        {"jobTemplate", {{"metadata", {{"creationTimestamp", nullptr}}}, {"spec", spec}}}}}};
}

TEST(JobPolicyTest, CronJobTemplateIsMutatedOnCreateAndUpdate) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  const json cron = CronJobFromFixture();
  for (const char* operation : {"CREATE", "UPDATE"}) {
    SCOPED_TRACE(operation);
    const Decision d =
        h.Run(Review(cron, operation, std::string(operation) == "UPDATE" ? &cron : nullptr));
    ASSERT_TRUE(d.allowed) << d.message;
    ExpectMinimal(d);
    EXPECT_EQ(Paths(d),
              (std::vector<std::string>{
                  "add /spec/jobTemplate/spec/activeDeadlineSeconds", "add /metadata/annotations",
                  "add /spec/jobTemplate/spec/template/spec/containers/0/imagePullPolicy"}));
    json expected = cron;
    expected["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] = 1800;
    expected["metadata"]["annotations"] = {{kSourceKey, "default"}};
    // blang/busybox-bash has no tag: Always.
    expected["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
            ["imagePullPolicy"] = "Always";
    const json patched = Apply(cron, d);
    EXPECT_EQ(patched, expected) << json::diff(expected, patched).dump();
    ExpectIdempotent(h, patched, operation);
  }
}

TEST(JobPolicyTest, CronJobAnnotationOnTheJobTemplateBeatsTheCronJobs) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  json cron = CronJobFromFixture();
  cron["metadata"]["annotations"][kOverrideKey] = "600";
  Decision d = h.Run(Review(cron, "CREATE"));
  EXPECT_EQ(Apply(cron, d)["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"], 600);
  cron["spec"]["jobTemplate"]["metadata"]["annotations"][kOverrideKey] = "900";
  d = h.Run(Review(cron, "CREATE"));
  EXPECT_EQ(Apply(cron, d)["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"], 900);
  cron["spec"]["jobTemplate"]["metadata"]["annotations"][kOverrideKey] = "soon";
  d = h.Run(Review(cron, "CREATE"));
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.message.rfind(
                "spec.jobTemplate.metadata.annotations[backstop.dev/active-deadline-seconds]: "
                "invalid value \"soon\"",
                0),
            0u)
      << d.message;
}

TEST(JobPolicyTest, CronJobAboveCeilingStoredBeforeTheCeilingCanStillBeUpdated) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h(R"({"jobs": {"maxActiveDeadlineSeconds": 3600, "aboveMax": "deny"}})");
  json old_cron = CronJobFromFixture();
  old_cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] = 7200;
  json cron = old_cron;
  cron["spec"]["suspend"] = true;
  Decision d = h.Run(Review(cron, "UPDATE", &old_cron));
  ASSERT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "spec.jobTemplate.spec.activeDeadlineSeconds 7200 is above the maximum 3600 "
            "(jobs.maxActiveDeadlineSeconds); lower it");
  // Raising it on UPDATE is denied.
  cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] = 9000;
  d = h.Run(Review(cron, "UPDATE", &old_cron));
  EXPECT_FALSE(d.allowed);
}

TEST(JobPolicyTest, JobUpdateIsNotMutated) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  const json job = LoadFixture("jobs/gitops-engine_job-running.yaml");
  const Decision d = h.Run(Review(job, "UPDATE", &job));
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.patch.empty());
}

TEST(JobPolicyTest, MissingParentsAreCreatedAndUnknownFieldsSurvive) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  // A bare Job (as in offline review): no spec at all, an unknown top-level field.
  json bare = {{"apiVersion", "batch/v1"},
               {"kind", "Job"},
               {"metadata", {{"name", "bare"}, {"namespace", "agents"}}},
               {"x-extension", {{"keep", true}}}};
  Decision d = h.Run(Review(bare, "CREATE"));
  EXPECT_EQ(Paths(d), (std::vector<std::string>{"add /spec", "add /metadata/annotations"}));
  json patched = Apply(bare, d);
  EXPECT_EQ(patched["spec"], json({{"activeDeadlineSeconds", 1800}}));
  EXPECT_EQ(patched["x-extension"], bare["x-extension"]);

  // Unknown fields inside spec and containers of a real Job are untouched.
  json job = LoadFixture("jobs/gitops-engine_job-running.yaml");
  job["spec"]["x-future-field"] = {{"a", 1}};
  job["spec"]["template"]["spec"]["containers"][0]["x-vendor"] = "v";
  d = h.Run(Review(job, "CREATE"));
  patched = Apply(job, d);
  EXPECT_EQ(patched["spec"]["x-future-field"], job["spec"]["x-future-field"]);
  EXPECT_EQ(patched["spec"]["template"], job["spec"]["template"]);
}

TEST(JobPolicyTest, SelectionAndSwitchesNarrowTheMutation) {
  BACKSTOP_REQUIRE_FIXTURES();
  json job = LoadFixture("jobs/gitops-engine_job-running.yaml");  // argoci-workflows
  job["spec"]["template"]["spec"]["containers"][0].erase("imagePullPolicy");

  auto paths = [&](const std::string& config) {
    Harness h(config);
    return Paths(h.Run(Review(job, "CREATE")));
  };
  const std::vector<std::string> all = {"add /spec/activeDeadlineSeconds",
                                        "add /metadata/annotations",
                                        "add /spec/template/spec/containers/0/imagePullPolicy"};
  EXPECT_EQ(paths("{}"), all);
  EXPECT_EQ(paths(R"({"jobs": {"namespaces": ["argoci-workflows", "agents"]}})"), all);
  EXPECT_TRUE(paths(R"({"jobs": {"namespaces": ["agents"]}})").empty());
  EXPECT_EQ(paths(R"({"jobs": {"matchLabels": {"job-name": "succeed"}}})"), all);
  EXPECT_TRUE(
      paths(R"({"jobs": {"matchLabels": {"job-name": "succeed", "tier": "agent"}}})").empty());
  EXPECT_EQ(
      paths(R"({"jobs": {"setImagePullPolicy": false}})"),
      (std::vector<std::string>{"add /spec/activeDeadlineSeconds", "add /metadata/annotations"}));
  EXPECT_EQ(paths(R"({"jobs": {"setActiveDeadlineSeconds": false}})"),
            std::vector<std::string>{"add /spec/template/spec/containers/0/imagePullPolicy"});
  // Outside the selection the override annotation is not read at all.
  job["metadata"]["annotations"][kOverrideKey] = "soon";
  Harness narrowed(R"({"jobs": {"namespaces": ["agents"]}})");
  EXPECT_TRUE(narrowed.Run(Review(job, "CREATE")).allowed);
}

TEST(JobPolicyTest, ImageChecksOfThePodTemplateAreMerged) {
  BACKSTOP_REQUIRE_FIXTURES();
  Harness h;
  json cron = CronJobFromFixture();
  // An image kubelet would reject with InvalidImageName.
  cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] =
      "ghcr.io/Example/agent:latest";
  const webhook::DecodedReview review = Decode(Review(cron, "CREATE").dump());
  const rapidjson::Value* pod_spec =
      Find(review.request.object, {"spec", "jobTemplate", "spec", "template", "spec"});
  ASSERT_NE(pod_spec, nullptr);
  const Decision direct =
      CheckPodSpecImages(*pod_spec, "spec.jobTemplate.spec.template.spec", h.Context());
  const Decision d = h.Run(review);
  EXPECT_EQ(d.allowed, direct.allowed);
  if (!direct.allowed) {
    EXPECT_NE(d.message.find(direct.message), std::string::npos) << d.message;
    EXPECT_NE(d.message.find("spec.jobTemplate.spec.template.spec.containers[0]"),
              std::string::npos)
        << d.message;
  }
  for (const auto& w : direct.warnings) {
    EXPECT_NE(std::find(d.warnings.begin(), d.warnings.end(), w), d.warnings.end()) << w;
  }
  // The same Job as a batch Job: the field path starts at spec.template.spec.
  json job = LoadFixture("jobs/k9s_job.json");
  job["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/Example/agent:latest";
  const Decision jd = h.Run(Review(job, "CREATE"));
  EXPECT_EQ(jd.allowed, direct.allowed);
  if (!jd.allowed) {
    EXPECT_NE(jd.message.find("spec.template.spec.containers[0]"), std::string::npos) << jd.message;
  }
  // An UPDATE that leaves the template alone (e.g. suspending) is not re-checked.
  json suspended = cron;
  suspended["spec"]["suspend"] = true;
  const Decision upd = h.Run(Review(suspended, "UPDATE", &cron));
  EXPECT_TRUE(upd.allowed) << upd.message;
}

TEST(JobPolicyTest, ConfigIsValidatedWithKeyPaths) {
  auto errors_of = [](const std::string& text) {
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    auto parsed = ParsePolicyConfig(doc);
    return parsed.ok() ? std::string() : parsed.status().message();
  };
  EXPECT_EQ(errors_of(R"({"jobs": {"defaultDeadline": 5}})"), "jobs.defaultDeadline: unknown key");
  EXPECT_EQ(errors_of(R"({"jobs": {"aboveMax": "lower"}})"),
            "jobs.aboveMax: must be one of clamp, deny, got \"lower\"");
  EXPECT_EQ(errors_of(R"({"jobs": {"rules": [{"namespace": ["a"], "activeDeadlineSeconds": 5}]}})"),
            "jobs.rules[0].namespace: unknown key");
  EXPECT_EQ(errors_of(R"({"jobs": {"rules": [{"namespaces": ["a"]}]}})"),
            "jobs.rules[0].activeDeadlineSeconds: is required");
  EXPECT_EQ(
      errors_of(R"({"jobs": {"rules": [{"matchLabels": {"a": 1}, "activeDeadlineSeconds": 5}]}})"),
      "jobs.rules[0].matchLabels.a: must be a string, got integer");
  EXPECT_EQ(
      errors_of(R"({"jobs": {"maxActiveDeadlineSeconds": 900}})"),
      "jobs.defaultActiveDeadlineSeconds: must not exceed maxActiveDeadlineSeconds (900), got "
      "1800 (the default; set a lower one)");
  EXPECT_EQ(
      errors_of(R"({"jobs": {"maxActiveDeadlineSeconds": 900, "defaultActiveDeadlineSeconds": 600,
                                   "rules": [{"activeDeadlineSeconds": 1000}]}})"),
      "jobs.rules[0].activeDeadlineSeconds: must not exceed maxActiveDeadlineSeconds (900), got "
      "1000");
  EXPECT_EQ(errors_of(R"({"jobs": {"defaultActiveDeadlineSeconds": 0}})"),
            "jobs.defaultActiveDeadlineSeconds: must be between 1 and 999999999999, got 0");

  rapidjson::Document doc;
  doc.Parse(R"({"jobs": {"defaultActiveDeadlineSeconds": 600, "maxActiveDeadlineSeconds": 7200,
      "aboveMax": "deny", "setImagePullPolicy": false, "namespaces": ["agents"],
      "matchLabels": {"tier": "agent"},
      "rules": [{"namespaces": ["ci"], "matchLabels": {"k": "v"}, "activeDeadlineSeconds": 3600}]}})");
  auto parsed = ParsePolicyConfig(doc);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const JobOptions& o = parsed->Get<JobOptions>();
  EXPECT_EQ(o.default_active_deadline_seconds, 600);
  EXPECT_EQ(o.max_active_deadline_seconds, 7200);
  EXPECT_EQ(o.above_max, JobOptions::AboveMax::kDeny);
  EXPECT_FALSE(o.set_image_pull_policy);
  EXPECT_TRUE(o.set_active_deadline_seconds);
  EXPECT_EQ(o.namespaces, std::vector<std::string>{"agents"});
  ASSERT_EQ(o.match_labels.size(), 1u);
  EXPECT_EQ(o.match_labels[0], std::make_pair(std::string("tier"), std::string("agent")));
  ASSERT_EQ(o.rules.size(), 1u);
  EXPECT_EQ(o.rules[0].active_deadline_seconds, 3600);
  EXPECT_EQ(o.rules[0].namespaces, std::vector<std::string>{"ci"});

  // Defaults.
  const JobOptions defaults;
  EXPECT_EQ(defaults.default_active_deadline_seconds, 1800);
  EXPECT_FALSE(defaults.max_active_deadline_seconds.has_value());
  EXPECT_EQ(defaults.above_max, JobOptions::AboveMax::kClamp);
  EXPECT_TRUE(defaults.set_image_pull_policy);
}

}  // namespace
}  // namespace backstop::policy
