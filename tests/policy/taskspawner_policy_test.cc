// TaskSpawner validation, driven end to end: AdmissionReview JSON -> webhook codec ->
// policy::Validate. Objects follow the kelos.dev v1alpha1/v1alpha2 TaskSpawner types
// (spec.when.<source>, spec.taskTemplate, spec.pollInterval, per-source pollInterval,
// commentPolicy.triggerComment and the deprecated source-level triggerComment).

#include "policy/taskspawner_policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "app/documents.h"
#include "base/json_util.h"
#include "policy/config.h"
#include "policy/engine.h"
#include "tests/support/admission_review.h"
#include "tests/support/fixtures.h"
#include "webhook/codec.h"

namespace backstop::policy {
namespace {

using nlohmann::json;

constexpr std::string_view kSpawnerV1alpha1 = R"(
apiVersion: kelos.dev/v1alpha1
kind: TaskSpawner
metadata:
  name: fix-bugs
  namespace: default
spec:
  when:
    githubIssues:
      labels: [bug]
      state: open
  taskTemplate:
    type: codex
    credentials:
      type: oauth
      secretRef:
        name: codex-credentials
    workspaceRef:
      name: kelos-repo
    promptTemplate: "Fix issue #{{.Number}}: {{.Title}}"
  pollInterval: 5m
)";

constexpr std::string_view kSpawnerV1alpha2 = R"(
apiVersion: kelos.dev/v1alpha2
kind: TaskSpawner
metadata:
  name: review-prs
  namespace: default
spec:
  when:
    githubPullRequests:
      state: open
      reviewState: approved
      pollInterval: 2m
  taskTemplate:
    worker:
      type: codex
      credentials:
        type: api-key
        secretRef:
          name: anthropic-key
      workspaceRef:
        name: kelos-repo
    branch: "kelos-task-{{.Number}}"
  maxConcurrency: 2
)";

json FromYaml(std::string_view yaml) {
  auto docs = app::ParseDocuments(yaml, "inline.yaml");
  if (!docs.ok() || docs->empty()) {
    ADD_FAILURE() << (docs.ok() ? "no document" : docs.status().message());
    return json();
  }
  return json::parse(ToJson(*(*docs)[0].json));
}

json Config(std::string_view yaml) { return FromYaml(yaml); }

json Example(const std::string& name) {
  const std::string path = (testing::SourceDir() / "examples" / name).string();
  auto docs = app::LoadDocuments(path);
  if (!docs.ok() || docs->size() != 1) {
    ADD_FAILURE() << path << ": "
                  << (docs.ok() ? "expected one document" : docs.status().message());
    return json();
  }
  return json::parse(ToJson(*(*docs)[0].json));
}

// A request for this file's kind; tests change what they need.
struct Request : testing::ReviewSpec {
  Request() {
    group = "kelos.dev";
    version = "v1alpha1";
    kind = "TaskSpawner";
    resource = "taskspawners";
    name = "fix-bugs";
    groups = {"system:masters", "system:authenticated"};
  }
};

PolicyConfig ParseConfig(const json& config) { return testing::ConfigOrFail(config); }

Decision Answer(const Request& r, const PolicyConfig& config = PolicyConfig{}) {
  return testing::ValidateAsServed(r, config);
}

Request Create(json object) {
  Request r;
  if (object.is_object() && object.contains("apiVersion")) {
    r.version = object["apiVersion"].get<std::string>().substr(std::string("kelos.dev/").size());
  }
  r.object = std::move(object);
  return r;
}

Request Update(json old_object, json object) {
  Request r = Create(std::move(object));
  r.operation = "UPDATE";
  r.old_object = std::move(old_object);
  return r;
}

void Set(json& object, const char* pointer, const json& value) {
  object[json::json_pointer(pointer)] = value;
}

using testing::ExpectWellFormedWarnings;

// One field set to one JSON value, and the exact answer.
struct FieldCase {
  const char* pointer;
  const char* value_json;
  const char* denial;  // exact message, or nullptr when allowed
};

void RunFieldCases(std::string_view base_yaml, const std::vector<FieldCase>& cases,
                   const PolicyConfig& config = PolicyConfig{}) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.pointer) + " = " + c.value_json);
    json object = FromYaml(base_yaml);
    Set(object, c.pointer, json::parse(c.value_json));
    const Decision d = Answer(Create(object), config);
    if (c.denial == nullptr) {
      EXPECT_TRUE(d.allowed) << d.message;
    } else {
      EXPECT_FALSE(d.allowed);
      EXPECT_EQ(d.code, 422);
      EXPECT_EQ(d.reason, "Invalid");
      EXPECT_EQ(d.message, c.denial);
    }
    ExpectWellFormedWarnings(d);
  }
}

TEST(TaskSpawnerPolicy, BaseObjectsAreAllowedWithoutWarnings) {
  for (std::string_view yaml : {kSpawnerV1alpha1, kSpawnerV1alpha2}) {
    const Decision d = Answer(Create(FromYaml(yaml)));
    EXPECT_TRUE(d.allowed) << d.message;
    EXPECT_TRUE(d.warnings.empty()) << d.warnings.front();
  }
}

TEST(TaskSpawnerPolicy, FailurePolicyFields) {
  const std::vector<FieldCase> cases = {
      {"/spec/failurePolicy/maxRetriesPerItem", "3", nullptr},
      {"/spec/failurePolicy/maxRetriesPerItem", "0", nullptr},
      {"/spec/failurePolicy/maxRetriesPerItem", "2147483647", nullptr},
      // The apiserver stores an integral 3.0 as 3.
      {"/spec/failurePolicy/maxRetriesPerItem", "3.0", nullptr},
      {"/spec/failurePolicy/maxRetriesPerItem", "-1",
       "spec.failurePolicy.maxRetriesPerItem: must be >= 0, got -1"},
      {"/spec/failurePolicy/maxRetriesPerItem", "2147483648",
       "spec.failurePolicy.maxRetriesPerItem: must be <= 2147483647 (int32), got 2147483648"},
      {"/spec/failurePolicy/maxRetriesPerItem", "18446744073709551615",
       "spec.failurePolicy.maxRetriesPerItem: must be <= 2147483647 (int32), got "
       "18446744073709551615"},
      {"/spec/failurePolicy/maxRetriesPerItem", "-9223372036854775808",
       "spec.failurePolicy.maxRetriesPerItem: must be >= 0, got -9223372036854775808"},
      {"/spec/failurePolicy/maxRetriesPerItem", "1.5",
       "spec.failurePolicy.maxRetriesPerItem: must be an integer, got 1.5"},
      {"/spec/failurePolicy/maxRetriesPerItem", "\"3\"",
       "spec.failurePolicy.maxRetriesPerItem: must be an integer, got string \"3\""},
      {"/spec/failurePolicy/maxRetriesPerItem", "true",
       "spec.failurePolicy.maxRetriesPerItem: must be an integer, got boolean true"},
      {"/spec/failurePolicy/maxRetriesPerItem", "[1]",
       "spec.failurePolicy.maxRetriesPerItem: must be an integer, got array"},
      {"/spec/failurePolicy/maxRetriesPerItem", "null", nullptr},
      {"/spec/failurePolicy/resetOnChange", "true", nullptr},
      {"/spec/failurePolicy/resetOnChange", "false", nullptr},
      {"/spec/failurePolicy/resetOnChange", "\"yes\"",
       "spec.failurePolicy.resetOnChange: must be a boolean, got string \"yes\""},
      {"/spec/failurePolicy/resetOnChange", "1",
       "spec.failurePolicy.resetOnChange: must be a boolean, got integer 1"},
      {"/spec/failurePolicy/maxRetries", "3",
       "spec.failurePolicy.maxRetries: unknown field, got 3 (known: maxRetriesPerItem, "
       "resetOnChange)"},
      {"/spec/failurePolicy", "\"never\"",
       "spec.failurePolicy: must be an object, got string \"never\""},
      {"/spec/failurePolicy", "{}", nullptr},
      {"/spec/failurePolicy", "null", nullptr},
  };
  RunFieldCases(kSpawnerV1alpha1, cases);
  RunFieldCases(kSpawnerV1alpha2, cases);
}

TEST(TaskSpawnerPolicy, SpecPollIntervalV1alpha1) {
  RunFieldCases(
      kSpawnerV1alpha1,
      {
          {"/spec/pollInterval", "\"90s\"", nullptr},
          {"/spec/pollInterval", "\"5m\"", nullptr},
          {"/spec/pollInterval", "\"1h30m\"", nullptr},
          {"/spec/pollInterval", "\"5m0s\"", nullptr},
          {"/spec/pollInterval", "\"+5m\"", nullptr},
          {"/spec/pollInterval", "\".5h\"", nullptr},
          {"/spec/pollInterval", "\"30s\"", nullptr},  // exactly the floor
          {"/spec/pollInterval", "\"30\"", nullptr},   // whole seconds, exactly the floor
          {"/spec/pollInterval", "\"300\"", nullptr},  // whole seconds
          {"/spec/pollInterval", "\"\"", nullptr},     // unset: kelos polls every 5m
          {"/spec/pollInterval", "null", nullptr},
          {"/spec/pollInterval", "\"29s\"", "spec.pollInterval: must be >= 30s, got \"29s\""},
          {"/spec/pollInterval", "\"29.999s\"",
           "spec.pollInterval: must be >= 30s, got \"29.999s\""},
          {"/spec/pollInterval", "\"29\"", "spec.pollInterval: must be >= 30s, got \"29\" (29s)"},
          {"/spec/pollInterval", "\"0\"", "spec.pollInterval: must be >= 30s, got \"0\""},
          {"/spec/pollInterval", "\"0s\"", "spec.pollInterval: must be >= 30s, got \"0s\""},
          {"/spec/pollInterval", "\"500ms\"", "spec.pollInterval: must be >= 30s, got \"500ms\""},
          {"/spec/pollInterval", "\"-5m\"", "spec.pollInterval: must not be negative, got \"-5m\""},
          {"/spec/pollInterval", "\"-30\"",
           "spec.pollInterval: must not be negative, got \"-30\" (-30s)"},
          {"/spec/pollInterval", "\"5 minutes\"",
           "spec.pollInterval: not a Go duration or whole seconds: \"5 minutes\" (kelos would "
           "use 5m)"},
          {"/spec/pollInterval", "\"1d\"",
           "spec.pollInterval: not a Go duration or whole seconds: \"1d\" (kelos would use 5m)"},
          {"/spec/pollInterval", "\"5M\"",
           "spec.pollInterval: not a Go duration or whole seconds: \"5M\" (kelos would use 5m)"},
          {"/spec/pollInterval", "\" 5m\"",
           "spec.pollInterval: not a Go duration or whole seconds: \" 5m\" (kelos would use 5m)"},
          {"/spec/pollInterval", "\"9223372037\"",
           "spec.pollInterval: not a Go duration or whole seconds: \"9223372037\" (kelos would "
           "use 5m)"},
          {"/spec/pollInterval", "90", "spec.pollInterval: must be a string, got integer 90"},
      });
}

TEST(TaskSpawnerPolicy, SourcePollIntervals) {
  const char* kDenial = ": must be >= 30s, got \"10s\"";
  // v1alpha1 sources under spec.when and spec.on; v1alpha2 sources under spec.when.
  for (const char* pointer :
       {"/spec/when/githubIssues/pollInterval", "/spec/on/githubIssues/pollInterval"}) {
    json object = FromYaml(kSpawnerV1alpha1);
    if (std::string(pointer).find("/on/") != std::string::npos) {
      object["spec"]["on"] = object["spec"]["when"];
      object["spec"].erase("when");
    }
    Set(object, pointer, "10s");
    const Decision d = Answer(Create(object));
    EXPECT_FALSE(d.allowed);
    std::string path = std::string(pointer).substr(1);
    for (auto& c : path) c = c == '/' ? '.' : c;
    EXPECT_EQ(d.message, path + kDenial);
  }
  for (const char* source : {"githubIssues", "githubPullRequests", "jira"}) {
    SCOPED_TRACE(source);
    json object = FromYaml(kSpawnerV1alpha2);
    object["spec"]["when"].erase("githubPullRequests");
    object["spec"]["when"][source] = json::object();
    if (std::string(source) == "jira") {
      object["spec"]["when"]["jira"] = {{"baseUrl", "https://example.atlassian.net"},
                                        {"project", "PROJ"},
                                        {"secretRef", {{"name", "jira-token"}}}};
    }
    for (const char* value : {"30s", "5m0s", "1h30m", "45"}) {
      object["spec"]["when"][source]["pollInterval"] = value;
      EXPECT_TRUE(Answer(Create(object)).allowed) << value;
    }
    object["spec"]["when"][source]["pollInterval"] = "10s";
    const Decision d = Answer(Create(object));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.message, std::string("spec.when.") + source + ".pollInterval" + kDenial);
    EXPECT_EQ(d.rule, "taskspawner.pollInterval");
  }
}

TEST(TaskSpawnerPolicy, ConfiguredPollFloor) {
  const PolicyConfig config = ParseConfig(Config("taskSpawner:\n  minPollInterval: 2m\n"));
  RunFieldCases(
      kSpawnerV1alpha1,
      {
          {"/spec/pollInterval", "\"2m\"", nullptr},
          {"/spec/pollInterval", "\"120\"", nullptr},
          {"/spec/pollInterval", "\"119s\"", "spec.pollInterval: must be >= 2m, got \"119s\""},
      },
      config);
  const PolicyConfig no_floor = ParseConfig(Config("taskSpawner:\n  minPollInterval: 0\n"));
  RunFieldCases(
      kSpawnerV1alpha1,
      {
          {"/spec/pollInterval", "\"0\"", nullptr},
          {"/spec/pollInterval", "\"-1s\"", "spec.pollInterval: must not be negative, got \"-1s\""},
      },
      no_floor);
}

TEST(TaskSpawnerPolicy, TtlSecondsAfterFinished) {
  const std::vector<FieldCase> cases = {
      {"/spec/taskTemplate/ttlSecondsAfterFinished", "0", nullptr},
      {"/spec/taskTemplate/ttlSecondsAfterFinished", "2147483647", nullptr},
      {"/spec/taskTemplate/ttlSecondsAfterFinished", "-1",
       "spec.taskTemplate.ttlSecondsAfterFinished: must be >= 0, got -1"},
      {"/spec/taskTemplate/ttlSecondsAfterFinished", "2147483648",
       "spec.taskTemplate.ttlSecondsAfterFinished: must be <= 2147483647 (int32), got "
       "2147483648"},
      {"/spec/taskTemplate/ttlSecondsAfterFinished", "1.5",
       "spec.taskTemplate.ttlSecondsAfterFinished: must be an integer, got 1.5"},
      {"/spec/taskTemplate/ttlSecondsAfterFinished", "\"3600\"",
       "spec.taskTemplate.ttlSecondsAfterFinished: must be an integer, got string \"3600\""},
  };
  RunFieldCases(kSpawnerV1alpha1, cases);
  RunFieldCases(kSpawnerV1alpha2, cases);
}

TEST(TaskSpawnerPolicy, EveryViolationInOneDenial) {
  json object = FromYaml(kSpawnerV1alpha1);
  Set(object, "/spec/failurePolicy/maxRetriesPerItem", -1);
  Set(object, "/spec/failurePolicy/resetOnChange", "always");
  Set(object, "/spec/pollInterval", "2s");
  Set(object, "/spec/when/githubIssues/pollInterval", "soon");
  Set(object, "/spec/taskTemplate/ttlSecondsAfterFinished", -5);
  const Decision d = Answer(Create(object));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 422);
  EXPECT_EQ(d.reason, "Invalid");
  EXPECT_EQ(d.rule, "taskspawner.failurePolicy");
  EXPECT_EQ(d.message,
            "spec.failurePolicy.maxRetriesPerItem: must be >= 0, got -1; "
            "spec.failurePolicy.resetOnChange: must be a boolean, got string \"always\"; "
            "spec.pollInterval: must be >= 30s, got \"2s\"; "
            "spec.when.githubIssues.pollInterval: not a Go duration or whole seconds: \"soon\" "
            "(kelos would use 5m); "
            "spec.taskTemplate.ttlSecondsAfterFinished: must be >= 0, got -5");
}

// --- Loop-risk warning -------------------------------------------------------------------

json LoopingV1alpha1() {
  json object = FromYaml(kSpawnerV1alpha1);
  Set(object, "/spec/taskTemplate/ttlSecondsAfterFinished", 3600);
  return object;
}

TEST(TaskSpawnerPolicy, LoopRiskWarnsWithComputedInterval) {
  const Decision d = Answer(Create(LoopingV1alpha1()));
  EXPECT_TRUE(d.allowed);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "githubIssues: a failing item is recreated every ~1h5m (TTL 1h + poll 5m); "
            "failurePolicy.maxRetriesPerItem caps it");
  EXPECT_EQ(d.rule, "taskspawner.loopRisk");
  ExpectWellFormedWarnings(d);
}

TEST(TaskSpawnerPolicy, LoopRiskIntervalFollowsTheEffectivePollInterval) {
  struct Case {
    const char* spec_poll;    // nullptr: unset
    const char* source_poll;  // nullptr: unset
    int ttl;
    const char* interval;
  };
  for (const Case& c : std::vector<Case>{
           {"5m", nullptr, 3600, "~1h5m (TTL 1h + poll 5m)"},
           {nullptr, nullptr, 3600, "~1h5m (TTL 1h + poll 5m)"},   // kelos default 5m
           {"10m", "90s", 600, "~11m30s (TTL 10m + poll 1m30s)"},  // source overrides spec
           {"", "", 60, "~6m (TTL 1m + poll 5m)"},
           {"120", nullptr, 1, "~2m1s (TTL 1s + poll 2m)"},
           // Too long to spell out within 120 characters: the breakdown is dropped.
           {nullptr, nullptr, 2147483647, "~596523h19m7s (TTL+poll)"},
       }) {
    SCOPED_TRACE(c.interval);
    json object = FromYaml(kSpawnerV1alpha1);
    object["spec"].erase("pollInterval");
    if (c.spec_poll != nullptr) Set(object, "/spec/pollInterval", c.spec_poll);
    if (c.source_poll != nullptr)
      Set(object, "/spec/when/githubIssues/pollInterval", c.source_poll);
    Set(object, "/spec/taskTemplate/ttlSecondsAfterFinished", c.ttl);
    const Decision d = Answer(Create(object));
    EXPECT_TRUE(d.allowed) << d.message;
    ASSERT_EQ(d.warnings.size(), 1u);
    EXPECT_NE(d.warnings[0].find(std::string("recreated every ") + c.interval), std::string::npos)
        << d.warnings[0];
    ExpectWellFormedWarnings(d);
  }
}

TEST(TaskSpawnerPolicy, LoopRiskEveryPolledSource) {
  json object = FromYaml(kSpawnerV1alpha2);
  Set(object, "/spec/taskTemplate/ttlSecondsAfterFinished", 600);
  Decision d = Answer(Create(object));
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "githubPullRequests: a failing item is recreated every ~12m (TTL 10m + poll 2m); "
            "failurePolicy.maxRetriesPerItem caps it");
  ExpectWellFormedWarnings(d);

  object["spec"]["when"] = {{"jira",
                             {{"baseUrl", "https://example.atlassian.net"},
                              {"project", "PROJ"},
                              {"secretRef", {{"name", "jira-token"}}}}}};
  d = Answer(Create(object));
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0].rfind("jira: a failing item is recreated every ~15m", 0), 0u)
      << d.warnings[0];

  // Cron is not polled for work items: nothing to recreate.
  object["spec"]["when"] = {{"cron", {{"schedule", "0 9 * * 1"}}}};
  d = Answer(Create(object));
  EXPECT_TRUE(d.warnings.empty());
}

TEST(TaskSpawnerPolicy, NoLoopRiskWhenAConditionIsMissing) {
  struct Case {
    const char* name;
    const char* pointer;
    const char* value_json;
  };
  for (const Case& c : std::vector<Case>{
           {"retries capped", "/spec/failurePolicy/maxRetriesPerItem", "3"},
           {"ttl zero", "/spec/taskTemplate/ttlSecondsAfterFinished", "0"},
           {"ttl unset", "/spec/taskTemplate/ttlSecondsAfterFinished", "null"},
           {"commentPolicy trigger", "/spec/when/githubIssues/commentPolicy/triggerComment",
            "\"/kelos pick-up\""},
           {"deprecated trigger", "/spec/when/githubIssues/triggerComment", "\"/kelos pick-up\""},
       }) {
    SCOPED_TRACE(c.name);
    json object = LoopingV1alpha1();
    Set(object, c.pointer, json::parse(c.value_json));
    const Decision d = Answer(Create(object));
    EXPECT_TRUE(d.allowed) << d.message;
    EXPECT_TRUE(d.warnings.empty()) << d.warnings.front();
  }
}

TEST(TaskSpawnerPolicy, LoopRiskStillWarnsForUnlimitedRetriesAndEmptyTrigger) {
  for (const auto& [pointer, value] : std::vector<std::pair<const char*, json>>{
           {"/spec/failurePolicy/maxRetriesPerItem", 0},
           {"/spec/failurePolicy/resetOnChange", true},
           {"/spec/when/githubIssues/commentPolicy/triggerComment", ""},
           {"/spec/when/githubIssues/triggerComment", ""},
           {"/spec/when/githubIssues/commentPolicy/excludeComments", json::array({"/kelos stop"})},
       }) {
    SCOPED_TRACE(pointer);
    json object = LoopingV1alpha1();
    Set(object, pointer, value);
    const Decision d = Answer(Create(object));
    EXPECT_TRUE(d.allowed) << d.message;
    EXPECT_EQ(d.warnings.size(), 1u);
  }
}

TEST(TaskSpawnerPolicy, LoopRiskWarningCanBeTurnedOff) {
  const PolicyConfig config = ParseConfig(Config("taskSpawner:\n  warnLoopRisk: false\n"));
  const Decision d = Answer(Create(LoopingV1alpha1()), config);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.warnings.empty());
}

// --- UPDATE ratcheting ---------------------------------------------------------------------

TEST(TaskSpawnerPolicy, UpdateKeepsAnUnchangedInvalidValueWithAWarning) {
  json old_object = FromYaml(kSpawnerV1alpha1);
  Set(old_object, "/spec/pollInterval", "10s");
  json object = old_object;
  Set(object, "/spec/taskTemplate/model", "opus");  // an unrelated edit
  const Decision d = Answer(Update(old_object, object));
  EXPECT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0], "spec.pollInterval: must be >= 30s, got \"10s\" (unchanged, allowed)");
  EXPECT_EQ(d.rule, "taskspawner.pollInterval");
  ExpectWellFormedWarnings(d);
}

TEST(TaskSpawnerPolicy, UpdateDeniesAChangedInvalidValue) {
  json old_object = FromYaml(kSpawnerV1alpha1);
  Set(old_object, "/spec/pollInterval", "10s");
  json object = old_object;
  Set(object, "/spec/pollInterval", "5s");
  Decision d = Answer(Update(old_object, object));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "spec.pollInterval: must be >= 30s, got \"5s\"");

  // From valid to invalid.
  d = Answer(Update(FromYaml(kSpawnerV1alpha1), object));
  EXPECT_FALSE(d.allowed);
}

TEST(TaskSpawnerPolicy, UpdateRatchetsPerField) {
  json old_object = FromYaml(kSpawnerV1alpha2);
  Set(old_object, "/spec/failurePolicy/maxRetriesPerItem", -1);
  json object = old_object;
  Set(object, "/spec/taskTemplate/ttlSecondsAfterFinished", -1);
  const Decision d = Answer(Update(old_object, object));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "spec.taskTemplate.ttlSecondsAfterFinished: must be >= 0, got -1");
  EXPECT_EQ(d.rule, "taskspawner.ttlSecondsAfterFinished");
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "spec.failurePolicy.maxRetriesPerItem: must be >= 0, got -1 (unchanged, allowed)");
}

TEST(TaskSpawnerPolicy, UpdateRatchetsAStricterConfiguredFloor) {
  // Stored under a 30s floor, now checked under 1m: unrelated edits still pass.
  const PolicyConfig config = ParseConfig(Config("taskSpawner:\n  minPollInterval: 1m\n"));
  json old_object = FromYaml(kSpawnerV1alpha2);
  Set(old_object, "/spec/when/githubPullRequests/pollInterval", "45s");
  json object = old_object;
  Set(object, "/spec/maxConcurrency", 4);
  const Decision d = Answer(Update(old_object, object), config);
  EXPECT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "spec.when.githubPullRequests.pollInterval: must be >= 1m, got \"45s\" (unchanged, "
            "allowed)");
}

TEST(TaskSpawnerPolicy, CreateNeverRatchets) {
  json object = FromYaml(kSpawnerV1alpha1);
  Set(object, "/spec/pollInterval", "10s");
  Request r = Create(object);
  r.old_object = object;  // not sent by the apiserver on CREATE; ignored if present
  EXPECT_FALSE(Answer(r).allowed);
}

// --- Dispatch ----------------------------------------------------------------------------

TEST(TaskSpawnerPolicy, DryRunGetsTheSameAnswer) {
  json invalid = FromYaml(kSpawnerV1alpha1);
  Set(invalid, "/spec/pollInterval", "1s");
  for (const json& object : {invalid, LoopingV1alpha1(), FromYaml(kSpawnerV1alpha2)}) {
    Request r = Create(object);
    const Decision wet = Answer(r);
    r.dry_run = true;
    const Decision dry = Answer(r);
    EXPECT_EQ(dry.allowed, wet.allowed);
    EXPECT_EQ(dry.code, wet.code);
    EXPECT_EQ(dry.reason, wet.reason);
    EXPECT_EQ(dry.message, wet.message);
    EXPECT_EQ(dry.rule, wet.rule);
    EXPECT_EQ(dry.warnings, wet.warnings);
  }
}

json Invalid() {
  json object = FromYaml(kSpawnerV1alpha1);
  Set(object, "/spec/failurePolicy/maxRetriesPerItem", -1);
  return object;
}

TEST(TaskSpawnerPolicy, DeletePasses) {
  Request r = Create(json());
  r.operation = "DELETE";
  r.old_object = Invalid();
  const Decision d = Answer(r);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.warnings.empty());
}

TEST(TaskSpawnerPolicy, StatusSubresourcePasses) {
  json object = Invalid();
  object["status"] = {{"phase", "Running"}, {"totalDiscovered", 3}};
  Request r = Update(Invalid(), object);
  Set(r.object, "/spec/failurePolicy/maxRetriesPerItem", -2);  // even a changed spec
  r.sub_resource = "status";
  EXPECT_TRUE(Answer(r).allowed);
}

TEST(TaskSpawnerPolicy, OnlyKelosTaskSpawnerIsChecked) {
  Request other_group = Create(Invalid());
  other_group.group = "kelos.example.com";
  EXPECT_TRUE(Answer(other_group).allowed);

  Request other_kind = Create(Invalid());
  other_kind.kind = "Task";
  other_kind.resource = "tasks";
  EXPECT_TRUE(Answer(other_kind).allowed);

  Request lower_case = Create(Invalid());
  lower_case.kind = "taskspawner";
  EXPECT_TRUE(Answer(lower_case).allowed);

  EXPECT_FALSE(Answer(Create(Invalid())).allowed);
  Request v1alpha2 = Create(Invalid());
  v1alpha2.version = "v1alpha2";
  EXPECT_FALSE(Answer(v1alpha2).allowed);
}

// --- Shipped examples ----------------------------------------------------------------------

TEST(TaskSpawnerPolicy, ExampleThatLoopsForeverIsAllowedWithAWarning) {
  const Decision d = Answer(Create(Example("taskspawner-loops-forever.yaml")));
  EXPECT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "githubIssues: a failing item is recreated every ~1h5m (TTL 1h + poll 5m); "
            "failurePolicy.maxRetriesPerItem caps it");
}

TEST(TaskSpawnerPolicy, SafeExampleIsAllowedSilently) {
  const json safe = Example("taskspawner-safe.yaml");
  const Decision d = Answer(Create(safe));
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_TRUE(d.warnings.empty()) << d.warnings.front();

  // Each of its two guards alone is enough to silence the warning.
  json only_cap = safe;
  only_cap["spec"]["when"]["githubIssues"].erase("commentPolicy");
  EXPECT_TRUE(Answer(Create(only_cap)).warnings.empty());
  json only_trigger = safe;
  only_trigger["spec"].erase("failurePolicy");
  EXPECT_TRUE(Answer(Create(only_trigger)).warnings.empty());
  json neither = only_trigger;
  neither["spec"]["when"]["githubIssues"].erase("commentPolicy");
  EXPECT_EQ(Answer(Create(neither)).warnings.size(), 1u);
}

// --- Configuration -----------------------------------------------------------------------

TEST(TaskSpawnerOptions, DefaultsAndParsedValues) {
  const TaskSpawnerOptions defaults;
  EXPECT_EQ(defaults.min_poll_interval, std::chrono::seconds(30));
  EXPECT_TRUE(defaults.warn_loop_risk);

  EXPECT_EQ(ParseConfig(Config("taskSpawner:\n  minPollInterval: 1m30s\n"))
                .Get<TaskSpawnerOptions>()
                .min_poll_interval,
            std::chrono::seconds(90));
  EXPECT_EQ(ParseConfig(Config("taskSpawner:\n  minPollInterval: 45\n"))
                .Get<TaskSpawnerOptions>()
                .min_poll_interval,
            std::chrono::seconds(45));
  EXPECT_EQ(ParseConfig(Config("taskSpawner:\n  minPollInterval: \"60\"\n"))
                .Get<TaskSpawnerOptions>()
                .min_poll_interval,
            std::chrono::seconds(60));
  EXPECT_EQ(ParseConfig(Config("{}")).Get<TaskSpawnerOptions>().min_poll_interval,
            std::chrono::seconds(30));
}

TEST(TaskSpawnerOptions, Errors) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {"taskSpawner:\n  minPollIntervall: 1m\n", "taskSpawner.minPollIntervall: unknown key"},
           {"taskSpawner:\n  minPollInterval: soon\n",
            "taskSpawner.minPollInterval: must be a Go duration (e.g. \"30s\") or whole seconds, "
            "got \"soon\""},
           {"taskSpawner:\n  minPollInterval: true\n",
            "taskSpawner.minPollInterval: must be a Go duration (e.g. \"30s\") or whole seconds, "
            "got true"},
           {"taskSpawner:\n  minPollInterval: -5s\n",
            "taskSpawner.minPollInterval: must not be negative, got \"-5s\""},
           {"taskSpawner:\n  minPollInterval: -5\n",
            "taskSpawner.minPollInterval: must be between 0 and 9223372036 seconds, got -5"},
           {"taskSpawner:\n  warnLoopRisk: yes please\n",
            "taskSpawner.warnLoopRisk: must be a boolean, got string"},
           {"taskSpawner: 30s\n", "taskSpawner: must be an object, got string"},
       }) {
    SCOPED_TRACE(c.yaml);
    rapidjson::Document doc;
    doc.Parse(Config(c.yaml).dump().c_str());
    StatusOr<PolicyConfig> parsed = ParsePolicyConfig(doc);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().message(), c.error);
  }
}

}  // namespace
}  // namespace backstop::policy
