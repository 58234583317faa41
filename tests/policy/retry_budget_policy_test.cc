#include "policy/retry_budget_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/time.h"
#include "policy/config.h"
#include "policy/engine.h"
#include "policy/rules.h"
#include "tests/support/admission_review.h"

namespace backstop::policy {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const TimePoint kNow = *ParseTimestamp("2026-11-25T12:00:00Z");
const TimePoint kLastFailure = *ParseTimestamp("2026-11-25T10:02:11Z");

// A kelos Task as the spawner creates it: named <spawner>-<item>, labelled with its
// spawner, owned by it.
json Task(const std::string& name, const std::string& spawner, const std::string& prompt) {
  json labels = json::object();
  if (!spawner.empty()) labels["kelos.dev/taskspawner"] = spawner;
  return {{"apiVersion", "kelos.dev/v1alpha2"},
          {"kind", "Task"},
          {"metadata",
           {{"name", name},
            {"namespace", "agents"},
            {"labels", labels},
            {"ownerReferences", json::array({{{"apiVersion", "kelos.dev/v1alpha2"},
                                              {"kind", "TaskSpawner"},
                                              {"name", spawner},
                                              {"uid", "5e0c3c4a-0000-4000-8000-000000000001"},
                                              {"controller", true}}})}}},
          {"spec", {{"type", "codex"}, {"prompt", prompt}}}};
}

json Spawner(const std::string& name, const json& annotations = json::object()) {
  return {{"apiVersion", "kelos.dev/v1alpha2"},
          {"kind", "TaskSpawner"},
          {"metadata", {{"name", name}, {"namespace", "agents"}, {"annotations", annotations}}},
          {"spec",
           {{"when", {{"githubIssues", {{"pollInterval", "5m"}}}}},
            {"taskTemplate", {{"ttlSecondsAfterFinished", 3600}}}}}};
}

testing::ReviewSpec Spec(const json& object, std::string operation = "CREATE") {
  testing::ReviewSpec spec;
  const std::string api = object["apiVersion"];
  const size_t slash = api.find('/');
  spec.group = slash == std::string::npos ? "" : api.substr(0, slash);
  spec.version = slash == std::string::npos ? api : api.substr(slash + 1);
  spec.kind = object["kind"];
  spec.resource = spec.kind == "Task"          ? "tasks"
                  : spec.kind == "TaskSpawner" ? "taskspawners"
                  : spec.kind == "Job"         ? "jobs"
                                               : "pods";
  spec.name = object["metadata"].value("name", "");
  spec.ns = "agents";
  spec.operation = std::move(operation);
  spec.object = object;
  if (spec.operation == "UPDATE") spec.old_object = object;
  return spec;
}

class RetryBudgetTest : public ::testing::Test {
 protected:
  RetryBudgetTest() { budget_->synced = true; }

  void Fail(const std::string& source, const std::string& key, int64_t count,
            const std::string& owner = "", const std::string& prompt_hash = "") {
    BudgetEntry e;
    e.count = count;
    e.first_failure = kLastFailure - std::chrono::hours(2);
    e.last_failure = kLastFailure;
    e.last_reason = "DeadlineExceeded";
    e.last_object = key;
    e.owner = owner;
    e.prompt_hash = prompt_hash;
    const std::string k = BudgetKey(source, "agents", key);
    budget_->entries[k] = e;
    if (!owner.empty()) budget_->by_owner[OwnerKey("agents", owner)].push_back(k);
  }
  void Limit(const std::string& owner, int64_t n, bool reset_on_change = false) {
    budget_->owners[OwnerKey("agents", owner)] =
        OwnerLimit{n, reset_on_change, "annotation backstop.dev/max-retries-per-item"};
  }

  Decision Decide(const testing::ReviewSpec& spec) {
    webhook::DecodedReview review = testing::DecodeOrFail(testing::AdmissionReview(spec).dump());
    ClusterFacts facts;
    facts.synced = true;
    facts.budget = budget_;
    const PolicyContext context{config_, facts, kNow, kNow};
    return Validate(review.request, context);
  }

  RetryBudgetOptions& Options() { return config_.Mutable<RetryBudgetOptions>(); }

  PolicyConfig config_;
  std::shared_ptr<BudgetFacts> budget_ = std::make_shared<BudgetFacts>();
};

TEST_F(RetryBudgetTest, AnItemAtItsLimitIsRefusedWithCountLastFailureAndReset) {
  Fail("kelos-tasks", "my-spawner-42", 3, "my-spawner");
  Limit("my-spawner", 3);
  const Decision d = Decide(Spec(Task("my-spawner-42", "my-spawner", "fix it")));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 403);
  EXPECT_EQ(d.rule, kRuleBudgetExhausted);
  EXPECT_EQ(d.message,
            "work item my-spawner-42 (TaskSpawner agents/my-spawner) failed 3 times in a row, "
            "limit 3; last: Failed 2026-11-25T10:02:11Z \"DeadlineExceeded\"; fix the cause, "
            "then reset: backstop budget reset --namespace agents --source kelos-tasks "
            "my-spawner-42");
  ASSERT_EQ(d.audit_annotations.size(), 1u);
  EXPECT_EQ(d.audit_annotations[0].first, kRuleBudgetExhausted);
}

TEST_F(RetryBudgetTest, BelowTheLimitOrWithoutALimitItPasses) {
  Fail("kelos-tasks", "my-spawner-42", 2, "my-spawner");
  Limit("my-spawner", 3);
  EXPECT_TRUE(Decide(Spec(Task("my-spawner-42", "my-spawner", "p"))).allowed);
  Fail("kelos-tasks", "other-7", 9, "other");  // "other" sets no limit; default 0 = off
  EXPECT_TRUE(Decide(Spec(Task("other-7", "other", "p"))).allowed);
  Options().default_max_retries_per_item = 5;  // now the default applies
  EXPECT_FALSE(Decide(Spec(Task("other-7", "other", "p"))).allowed);
}

TEST_F(RetryBudgetTest, DryRunGetsTheSameAnswer) {
  Fail("kelos-tasks", "my-spawner-42", 3, "my-spawner");
  Limit("my-spawner", 3);
  testing::ReviewSpec spec = Spec(Task("my-spawner-42", "my-spawner", "p"));
  spec.dry_run = true;
  EXPECT_FALSE(Decide(spec).allowed);
}

TEST_F(RetryBudgetTest, ManualTasksUnknownVersionsAndUnsyncedKnowledgePass) {
  Fail("kelos-tasks", "my-spawner-42", 3, "my-spawner");
  Limit("my-spawner", 3);
  // A manual `kelos run`: no spawner label.
  EXPECT_TRUE(Decide(Spec(Task("my-spawner-42", "", "p"))).allowed);
  // A kelos version backstop does not know.
  json future = Task("my-spawner-42", "my-spawner", "p");
  future["apiVersion"] = "kelos.dev/v1beta1";
  EXPECT_TRUE(Decide(Spec(future)).allowed);
  // Knowledge not synced: nothing is known.
  budget_->synced = false;
  EXPECT_TRUE(Decide(Spec(Task("my-spawner-42", "my-spawner", "p"))).allowed);
}

TEST_F(RetryBudgetTest, ResetOnChangeLetsAChangedPromptThrough) {
  json failed = Task("my-spawner-42", "my-spawner", "fix the bug");
  rapidjson::Document failed_doc;
  failed_doc.Parse(failed.dump().c_str());
  Fail("kelos-tasks", "my-spawner-42", 3, "my-spawner", PromptHash(failed_doc));
  Limit("my-spawner", 3, /*reset_on_change=*/true);
  EXPECT_FALSE(Decide(Spec(failed)).allowed);
  EXPECT_TRUE(Decide(Spec(Task("my-spawner-42", "my-spawner", "fix the bug, new hint"))).allowed);
  // Without resetOnChange the prompt does not matter.
  Limit("my-spawner", 3, false);
  EXPECT_FALSE(Decide(Spec(Task("my-spawner-42", "my-spawner", "fix the bug, new hint"))).allowed);
}

TEST_F(RetryBudgetTest, ResetAfterAQuietPeriod) {
  Fail("kelos-tasks", "my-spawner-42", 3, "my-spawner");
  Limit("my-spawner", 3);
  Options().reset_after_seconds = 3 * 3600;  // the last failure was 2 h before kNow
  EXPECT_FALSE(Decide(Spec(Task("my-spawner-42", "my-spawner", "p"))).allowed);
  Options().reset_after_seconds = 3600;
  EXPECT_TRUE(Decide(Spec(Task("my-spawner-42", "my-spawner", "p"))).allowed);
}

TEST_F(RetryBudgetTest, WarnAndDryRunEnforcement) {
  Fail("kelos-tasks", "my-spawner-42", 3, "my-spawner");
  Limit("my-spawner", 3);
  Options().enforcement = Enforcement::kWarn;
  Decision warned = Decide(Spec(Task("my-spawner-42", "my-spawner", "p")));
  EXPECT_TRUE(warned.allowed);
  ASSERT_EQ(warned.warnings.size(), 1u);
  EXPECT_THAT(warned.warnings[0], HasSubstr("failed 3 times in a row, limit 3"));
  Options().enforcement = Enforcement::kDryRun;
  Decision recorded = Decide(Spec(Task("my-spawner-42", "my-spawner", "p")));
  EXPECT_TRUE(recorded.allowed);
  EXPECT_TRUE(recorded.warnings.empty());
  EXPECT_EQ(recorded.rule, kRuleBudgetExhausted);
  ASSERT_EQ(recorded.audit_annotations.size(), 1u);
  EXPECT_THAT(recorded.audit_annotations[0].second, HasSubstr("dryrun: work item my-spawner-42"));
}

TEST_F(RetryBudgetTest, ExecutorJobsAndOptioPodsByTheirLabels) {
  Fail("executor-jobs", "task-1234", 2);
  Fail("optio-pods", "github.com_acme_api", 4);
  for (BudgetSource& s : Options().sources) {
    if (s.name == "executor-jobs") s.max_retries_per_item = 2;
    if (s.name == "optio-pods") s.max_retries_per_item = 4;
  }
  const json job = {{"apiVersion", "batch/v1"},
                    {"kind", "Job"},
                    {"metadata",
                     {{"name", "coder-task-123-1764064931"},
                      {"namespace", "agents"},
                      {"labels", {{"agent.benjamin-borbe.de/task-id", "task-1234"}}}}},
                    {"spec", json::object()}};
  const Decision job_answer = Decide(Spec(job));
  EXPECT_FALSE(job_answer.allowed);
  EXPECT_THAT(job_answer.message, HasSubstr("work item task-1234 (namespace agents) failed 2 "
                                            "times in a row, limit 2"));
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", "optio-repo-pod-x7k2"},
                {"namespace", "agents"},
                {"labels",
                 {{"managed-by", "optio"},
                  {"optio.repo-url", "github.com_acme_api"},
                  {"optio.type", "repo-pod"}}}}},
              {"spec", {{"containers", json::array()}}}};
  EXPECT_FALSE(Decide(Spec(pod)).allowed);
  pod["metadata"]["labels"]["managed-by"] = "someone-else";  // not optio's
  EXPECT_TRUE(Decide(Spec(pod)).allowed);
}

TEST_F(RetryBudgetTest, ATaskSpawnerIsWarnedAboutItsStoppedItems) {
  for (int i = 1; i <= 5; ++i)
    Fail("kelos-tasks", "my-spawner-" + std::to_string(i), 3, "my-spawner");
  Fail("kelos-tasks", "my-spawner-9", 1, "my-spawner");  // below the limit: not listed
  const Decision d =
      Decide(Spec(Spawner("my-spawner", {{"backstop.dev/max-retries-per-item", "3"}}), "UPDATE"));
  EXPECT_TRUE(d.allowed);
  std::string budget_warning;
  for (const std::string& w : d.warnings) {
    if (w.find("stopped") != std::string::npos) budget_warning = w;
  }
  EXPECT_THAT(budget_warning, HasSubstr("5 work items are stopped after failing in a row: "));
  EXPECT_THAT(budget_warning, HasSubstr(" and 2 more; reset: backstop budget reset --namespace "
                                        "agents --owner my-spawner"));
  EXPECT_THAT(budget_warning, ::testing::Not(HasSubstr("my-spawner-9")));
  // Without a limit nothing is stopped.
  const Decision none = Decide(Spec(Spawner("my-spawner"), "UPDATE"));
  for (const std::string& w : none.warnings) EXPECT_THAT(w, ::testing::Not(HasSubstr("stopped")));
}

TEST(OwnerLimitTest, FieldThenAnnotation) {
  rapidjson::Document d;
  d.Parse(R"({"metadata":{"annotations":{"backstop.dev/max-retries-per-item":"4",
             "backstop.dev/reset-on-change":"true"}},
             "spec":{"failurePolicy":{"maxRetriesPerItem":2}}})");
  OwnerLimit both = OwnerLimitOf(d);
  EXPECT_EQ(both.max_retries_per_item, 2);
  EXPECT_EQ(both.set_by, "spec.failurePolicy.maxRetriesPerItem");
  EXPECT_TRUE(both.reset_on_change);
  d.Parse(R"({"metadata":{"annotations":{"backstop.dev/max-retries-per-item":"4"}}})");
  EXPECT_EQ(OwnerLimitOf(d).max_retries_per_item, 4);
  EXPECT_FALSE(OwnerLimitOf(d).reset_on_change);
  d.Parse(R"({"metadata":{"annotations":{"backstop.dev/max-retries-per-item":"three"}}})");
  EXPECT_EQ(OwnerLimitOf(d).max_retries_per_item, 0);  // unreadable: no limit, never garbage
}

TEST(WorkItemTest, KeysFromNamesLabelsAndPatterns) {
  const auto sources = BuiltinBudgetSources();
  rapidjson::Document d;
  d.Parse(R"({"metadata":{"name":"fix-bugs-1234","namespace":"agents",
             "labels":{"kelos.dev/taskspawner":"fix-bugs"}}})");
  auto item = ItemOf(sources[0], d);
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->key, "fix-bugs-1234");
  EXPECT_EQ(item->owner, "fix-bugs");
  EXPECT_EQ(item->namespace_name, "agents");

  EXPECT_EQ(MatchNamePattern("{key}-attempt-*", "build-42-attempt-3"), "build-42");
  EXPECT_EQ(MatchNamePattern("wf-{key}", "wf-a-b"), "a-b");
  EXPECT_EQ(MatchNamePattern("{key}-*", "nodash"), std::nullopt);
  EXPECT_EQ(MatchNamePattern("no-placeholder", "no-placeholder"), std::nullopt);

  EXPECT_TRUE(IsValidDataKey("github.com_acme_api"));
  EXPECT_FALSE(IsValidDataKey("a/b"));
  EXPECT_FALSE(IsValidDataKey(std::string(254, 'a')));
  const std::string long_name = LedgerName("executor-jobs", std::string(250, 'n'));
  EXPECT_EQ(long_name.size(), 253u);
  EXPECT_NE(long_name, LedgerName("executor-jobs", std::string(249, 'n') + "m"));
  EXPECT_EQ(LedgerName("kelos-tasks", "agents"), "backstop-budget-kelos-tasks-agents");
}

TEST(RetryBudgetOptionsTest, BuiltinLimitsCustomSourcesAndErrors) {
  rapidjson::Document doc;
  doc.Parse(R"({"retryBudget":{"enforcement":"warn","defaultMaxRetriesPerItem":3,
    "sources":[{"name":"executor-jobs","maxRetriesPerItem":2},
               {"name":"argo-steps","kind":"Pod","matchLabels":{"app":"wf"},
                "namePattern":"{key}-step-*","maxRetriesPerItem":5}]}})");
  auto config = ParsePolicyConfig(doc);
  ASSERT_TRUE(config.ok()) << config.status().message();
  const RetryBudgetOptions& o = config->Get<RetryBudgetOptions>();
  EXPECT_EQ(o.enforcement, Enforcement::kWarn);
  EXPECT_EQ(o.default_max_retries_per_item, 3);
  ASSERT_EQ(o.sources.size(), 4u);
  EXPECT_EQ(o.sources[1].max_retries_per_item, 2);
  EXPECT_EQ(o.sources[3].name, "argo-steps");
  EXPECT_EQ(o.sources[3].kind, "Pod");
  EXPECT_EQ(o.sources[3].name_pattern, "{key}-step-*");

  doc.Parse(R"({"retryBudget":{"sources":[
    {"name":"optio-pods","kind":"Pod"},
    {"name":"Bad_Name","kind":"Job"},
    {"name":"x","kind":"Deployment"},
    {"name":"y","kind":"Job","keyLabels":["a"],"namePattern":"{key}"},
    {"name":"z","kind":"Job","namePattern":"no-key"},
    {"name":"executor-jobs","maxRetriesPerItem":-1}]}})");
  auto bad = ParsePolicyConfig(doc);
  ASSERT_FALSE(bad.ok());
  const std::string& m = bad.status().message();
  EXPECT_THAT(m, HasSubstr("retryBudget.sources[0].name: \"optio-pods\" is a built-in source"));
  EXPECT_THAT(m, HasSubstr("retryBudget.sources[1].name: must be a DNS label"));
  EXPECT_THAT(m, HasSubstr("retryBudget.sources[2].kind: must be one of Job, Pod, Task"));
  EXPECT_THAT(m, HasSubstr("retryBudget.sources[3].namePattern: set keyLabels or namePattern"));
  EXPECT_THAT(m, HasSubstr("retryBudget.sources[4].namePattern: must contain {key}"));
  EXPECT_THAT(m, HasSubstr("retryBudget.sources[5].maxRetriesPerItem: must be between 0"));
}

}  // namespace
}  // namespace backstop::policy
