// Executor Config validation (agent.benjamin-borbe.de/v1 Config), driven end to end:
// AdmissionReview JSON -> webhook codec -> policy::Validate. The object shape follows the
// executor's ConfigSpec (assignee, image, heartbeat, taskTypes, and the optional int32
// zombieSweeperIntervalSeconds / zombieJobTimeoutSeconds).

#include "policy/executor_config_policy.h"

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

constexpr std::string_view kExecutorConfig = R"(
apiVersion: agent.benjamin-borbe.de/v1
kind: Config
metadata:
  name: coder
  namespace: agent
spec:
  assignee: coder-agent
  image: docker.io/bborbe/agent-coder
  heartbeat: 30m
  taskTypes: [coding, review]
  resources:
    requests:
      cpu: 500m
      memory: 256Mi
  trigger:
    phases: [planning, execution]
    statuses: [in_progress]
  zombieSweeperIntervalSeconds: 60
  zombieJobTimeoutSeconds: 1800
)";

json FromYaml(std::string_view yaml) {
  auto docs = app::ParseDocuments(yaml, "inline.yaml");
  if (!docs.ok() || docs->empty()) {
    ADD_FAILURE() << (docs.ok() ? "no document" : docs.status().message());
    return json();
  }
  return json::parse(ToJson(*(*docs)[0].json));
}

// A request for this file's kind; tests change what they need.
struct Request : testing::ReviewSpec {
  Request() {
    uid = "3f1c5e2a-9b7d-4c1e-8f0a-2d6b4e8c1a90";
    group = "agent.benjamin-borbe.de";
    kind = "Config";
    resource = "configs";
    name = "coder";
    ns = "agent";
    username = "system:serviceaccount:argocd:argocd-application-controller";
  }
};

StatusOr<PolicyConfig> ParseConfigYaml(std::string_view yaml) {
  rapidjson::Document doc;
  doc.Parse(FromYaml(yaml).dump().c_str());
  return ParsePolicyConfig(doc);
}

PolicyConfig ConfigOrDefaults(std::string_view yaml) {
  return testing::ConfigOrFail(FromYaml(yaml));
}

Decision Answer(const Request& r, const PolicyConfig& config = PolicyConfig{}) {
  return testing::ValidateAsServed(r, config);
}

Request Create(json object) {
  Request r;
  r.object = std::move(object);
  return r;
}

json WithSpec(const char* key, const json& value) {
  json object = FromYaml(kExecutorConfig);
  if (value.is_null()) {
    object["spec"].erase(key);
  } else {
    object["spec"][key] = value;
  }
  return object;
}

using testing::ExpectWellFormedWarnings;

struct FieldCase {
  const char* key;
  const char* value_json;  // "null": field removed
  const char* denial;      // exact message, nullptr when allowed
  const char* rule;        // rule of the denial
};

void RunFieldCases(const std::vector<FieldCase>& cases,
                   const PolicyConfig& config = PolicyConfig{}) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.key) + " = " + c.value_json);
    json object = FromYaml(kExecutorConfig);
    // Keep the other knob out of the way so only the field under test decides.
    object["spec"].erase("zombieSweeperIntervalSeconds");
    object["spec"].erase("zombieJobTimeoutSeconds");
    json value = json::parse(c.value_json);
    if (!value.is_null()) object["spec"][c.key] = value;
    const Decision d = Answer(Create(object), config);
    if (c.denial == nullptr) {
      EXPECT_TRUE(d.allowed) << d.message;
    } else {
      EXPECT_FALSE(d.allowed);
      EXPECT_EQ(d.code, 422);
      EXPECT_EQ(d.reason, "Invalid");
      EXPECT_EQ(d.message, c.denial);
      EXPECT_EQ(d.rule, c.rule);
    }
    ExpectWellFormedWarnings(d);
  }
}

constexpr const char* kSweeper = "executorconfig.zombieSweeperIntervalSeconds";
constexpr const char* kTimeout = "executorconfig.zombieJobTimeoutSeconds";

TEST(ExecutorConfigPolicy, RealShapeIsAllowedWithoutWarnings) {
  const Decision d = Answer(Create(FromYaml(kExecutorConfig)));
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_TRUE(d.warnings.empty());
}

TEST(ExecutorConfigPolicy, ZombieSweeperInterval) {
  RunFieldCases({
      {"zombieSweeperIntervalSeconds", "null", nullptr, nullptr},
      {"zombieSweeperIntervalSeconds", "10", nullptr, nullptr},  // the executor's floor
      {"zombieSweeperIntervalSeconds", "60", nullptr, nullptr},
      {"zombieSweeperIntervalSeconds", "60.0", nullptr, nullptr},
      {"zombieSweeperIntervalSeconds", "3600", nullptr, nullptr},  // default ceiling
      {"zombieSweeperIntervalSeconds", "9",
       "spec.zombieSweeperIntervalSeconds: zombieSweeperIntervalSeconds invalid: must be >= 10, "
       "got 9",
       kSweeper},
      {"zombieSweeperIntervalSeconds", "0",
       "spec.zombieSweeperIntervalSeconds: zombieSweeperIntervalSeconds invalid: must be >= 10, "
       "got 0",
       kSweeper},
      {"zombieSweeperIntervalSeconds", "-60",
       "spec.zombieSweeperIntervalSeconds: zombieSweeperIntervalSeconds invalid: must be >= 10, "
       "got -60",
       kSweeper},
      {"zombieSweeperIntervalSeconds", "3601",
       "spec.zombieSweeperIntervalSeconds: must be <= 3600 (maxZombieSweeperIntervalSeconds), got "
       "3601",
       kSweeper},
      {"zombieSweeperIntervalSeconds", "2147483648",
       "spec.zombieSweeperIntervalSeconds: must be <= 2147483647 (int32), got 2147483648",
       kSweeper},
      {"zombieSweeperIntervalSeconds", "60.5",
       "spec.zombieSweeperIntervalSeconds: must be an integer, got 60.5", kSweeper},
      {"zombieSweeperIntervalSeconds", "\"60\"",
       "spec.zombieSweeperIntervalSeconds: must be an integer, got string \"60\"", kSweeper},
      {"zombieSweeperIntervalSeconds", "\"1m\"",
       "spec.zombieSweeperIntervalSeconds: must be an integer, got string \"1m\"", kSweeper},
  });
}

TEST(ExecutorConfigPolicy, ZombieJobTimeout) {
  RunFieldCases({
      {"zombieJobTimeoutSeconds", "30", nullptr, nullptr},  // the executor's floor
      {"zombieJobTimeoutSeconds", "1800", nullptr, nullptr},
      {"zombieJobTimeoutSeconds", "604800", nullptr, nullptr},  // default ceiling
      {"zombieJobTimeoutSeconds", "29",
       "spec.zombieJobTimeoutSeconds: zombieJobTimeoutSeconds invalid: must be >= 30, got 29",
       kTimeout},
      {"zombieJobTimeoutSeconds", "-1",
       "spec.zombieJobTimeoutSeconds: zombieJobTimeoutSeconds invalid: must be >= 30, got -1",
       kTimeout},
      {"zombieJobTimeoutSeconds", "604801",
       "spec.zombieJobTimeoutSeconds: must be <= 604800 (maxZombieJobTimeoutSeconds), got 604801",
       kTimeout},
      {"zombieJobTimeoutSeconds", "9999999999",
       "spec.zombieJobTimeoutSeconds: must be <= 2147483647 (int32), got 9999999999", kTimeout},
      {"zombieJobTimeoutSeconds", "true",
       "spec.zombieJobTimeoutSeconds: must be an integer, got boolean true", kTimeout},
      {"zombieJobTimeoutSeconds", "{\"seconds\": 60}",
       "spec.zombieJobTimeoutSeconds: must be an integer, got object", kTimeout},
  });
}

TEST(ExecutorConfigPolicy, ConfiguredCeilings) {
  const PolicyConfig config = ConfigOrDefaults(R"(
executorConfig:
  maxZombieSweeperIntervalSeconds: 300
  maxZombieJobTimeoutSeconds: 7200
)");
  RunFieldCases(
      {
          {"zombieSweeperIntervalSeconds", "300", nullptr, nullptr},
          {"zombieSweeperIntervalSeconds", "301",
           "spec.zombieSweeperIntervalSeconds: must be <= 300 (maxZombieSweeperIntervalSeconds), "
           "got 301",
           kSweeper},
          {"zombieJobTimeoutSeconds", "7200", nullptr, nullptr},
          {"zombieJobTimeoutSeconds", "7201",
           "spec.zombieJobTimeoutSeconds: must be <= 7200 (maxZombieJobTimeoutSeconds), got 7201",
           kTimeout},
          // The floors stay the executor's own, whatever the ceilings.
          {"zombieJobTimeoutSeconds", "29",
           "spec.zombieJobTimeoutSeconds: zombieJobTimeoutSeconds invalid: must be >= 30, got 29",
           kTimeout},
      },
      config);
}

TEST(ExecutorConfigPolicy, BothViolationsInOneDenial) {
  json object = FromYaml(kExecutorConfig);
  object["spec"]["zombieSweeperIntervalSeconds"] = 5;
  object["spec"]["zombieJobTimeoutSeconds"] = 10;
  const Decision d = Answer(Create(object));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 422);
  EXPECT_EQ(d.rule, kSweeper);
  EXPECT_EQ(d.message,
            "spec.zombieSweeperIntervalSeconds: zombieSweeperIntervalSeconds invalid: must be >= "
            "10, got 5; spec.zombieJobTimeoutSeconds: zombieJobTimeoutSeconds invalid: must be >= "
            "30, got 10");
  EXPECT_TRUE(d.warnings.empty());  // no ordering arithmetic on invalid values
}

TEST(ExecutorConfigPolicy, WarnsWhenTheSweepIsNotBelowTheTimeout) {
  struct Case {
    const char* interval_json;  // "null": unset (executor default 60)
    const char* timeout_json;   // "null": unset (executor default 1800)
    const char* warning;        // nullptr: none
  };
  for (const Case& c : std::vector<Case>{
           {"60", "1800", nullptr},
           {"null", "null", nullptr},
           {"1799", "1800", nullptr},
           {"1800", "1800",
            "zombieSweeperIntervalSeconds 1800 is not below zombieJobTimeoutSeconds 1800; zombies "
            "found up to 1800s late"},
           {"3600", "null",
            "zombieSweeperIntervalSeconds 3600 is not below zombieJobTimeoutSeconds 1800 "
            "(default); zombies found up to 3600s late"},
           {"null", "45",
            "zombieSweeperIntervalSeconds 60 (default) is not below zombieJobTimeoutSeconds 45; "
            "zombies found up to 60s late"},
       }) {
    SCOPED_TRACE(std::string(c.interval_json) + " / " + c.timeout_json);
    json object = WithSpec("zombieSweeperIntervalSeconds", json::parse(c.interval_json));
    if (std::string(c.timeout_json) == "null") {
      object["spec"].erase("zombieJobTimeoutSeconds");
    } else {
      object["spec"]["zombieJobTimeoutSeconds"] = json::parse(c.timeout_json);
    }
    const Decision d = Answer(Create(object));
    EXPECT_TRUE(d.allowed) << d.message;
    if (c.warning == nullptr) {
      EXPECT_TRUE(d.warnings.empty()) << d.warnings.front();
    } else {
      ASSERT_EQ(d.warnings.size(), 1u);
      EXPECT_EQ(d.warnings[0], c.warning);
      EXPECT_EQ(d.rule, "executorconfig.sweeperBelowTimeout");
    }
    ExpectWellFormedWarnings(d);
  }
}

TEST(ExecutorConfigPolicy, UpdateRatchetsUnchangedValues) {
  // Stored before the ceiling existed; an unrelated edit (the image) must still pass.
  json old_object = WithSpec("zombieJobTimeoutSeconds", 1209600);
  json object = old_object;
  object["spec"]["image"] = "docker.io/bborbe/agent-coder-v2";
  Request r = Create(object);
  r.operation = "UPDATE";
  r.old_object = old_object;
  Decision d = Answer(r);
  EXPECT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0],
            "spec.zombieJobTimeoutSeconds: must be <= 604800 (maxZombieJobTimeoutSeconds), got "
            "1209600 (unchanged, allowed)");
  ExpectWellFormedWarnings(d);

  // Changing it to another invalid value is denied.
  r.object["spec"]["zombieJobTimeoutSeconds"] = 1209601;
  d = Answer(r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message,
            "spec.zombieJobTimeoutSeconds: must be <= 604800 (maxZombieJobTimeoutSeconds), got "
            "1209601");
}

TEST(ExecutorConfigPolicy, DryRunGetsTheSameAnswer) {
  for (const json& object :
       {WithSpec("zombieSweeperIntervalSeconds", 5), WithSpec("zombieSweeperIntervalSeconds", 1800),
        FromYaml(kExecutorConfig)}) {
    Request r = Create(object);
    const Decision wet = Answer(r);
    r.dry_run = true;
    const Decision dry = Answer(r);
    EXPECT_EQ(dry.allowed, wet.allowed);
    EXPECT_EQ(dry.code, wet.code);
    EXPECT_EQ(dry.message, wet.message);
    EXPECT_EQ(dry.rule, wet.rule);
    EXPECT_EQ(dry.warnings, wet.warnings);
  }
}

TEST(ExecutorConfigPolicy, OtherGroupsConfigPasses) {
  const json invalid = WithSpec("zombieSweeperIntervalSeconds", 1);
  for (const char* group :
       {"config.openshift.io", "agent.example.com", "", "agent.benjamin-borbe"}) {
    SCOPED_TRACE(group);
    Request r = Create(invalid);
    r.group = group;
    EXPECT_TRUE(Answer(r).allowed);
  }
  Request config_map = Create(invalid);
  config_map.kind = "ConfigMap";
  EXPECT_TRUE(Answer(config_map).allowed);
  EXPECT_FALSE(Answer(Create(invalid)).allowed);
}

TEST(ExecutorConfigPolicy, DeleteAndSubresourcesPass) {
  const json invalid = WithSpec("zombieSweeperIntervalSeconds", 1);
  Request del = Create(json());
  del.operation = "DELETE";
  del.old_object = invalid;
  EXPECT_TRUE(Answer(del).allowed);

  Request status = Create(WithSpec("zombieSweeperIntervalSeconds", 2));
  status.operation = "UPDATE";
  status.old_object = invalid;
  status.sub_resource = "status";
  EXPECT_TRUE(Answer(status).allowed);
}

TEST(ExecutorConfigPolicy, ExampleBelowFloorsIsDenied) {
  const std::string path =
      (testing::SourceDir() / "examples" / "executor-config-below-floors.yaml").string();
  auto docs = app::LoadDocuments(path);
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  ASSERT_EQ(docs->size(), 1u);
  const Decision d = Answer(Create(json::parse(ToJson(*(*docs)[0].json))));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 422);
  EXPECT_EQ(d.message,
            "spec.zombieSweeperIntervalSeconds: zombieSweeperIntervalSeconds invalid: must be >= "
            "10, got 5; spec.zombieJobTimeoutSeconds: zombieJobTimeoutSeconds invalid: must be >= "
            "30, got 10");
}

TEST(ExecutorConfigOptions, DefaultsAndParsedValues) {
  const ExecutorConfigOptions defaults;
  EXPECT_EQ(defaults.max_zombie_sweeper_interval_seconds, 3600);
  EXPECT_EQ(defaults.max_zombie_job_timeout_seconds, 604800);
  const PolicyConfig config =
      ConfigOrDefaults("executorConfig:\n  maxZombieSweeperIntervalSeconds: 10\n");
  EXPECT_EQ(config.Get<ExecutorConfigOptions>().max_zombie_sweeper_interval_seconds, 10);
  EXPECT_EQ(config.Get<ExecutorConfigOptions>().max_zombie_job_timeout_seconds, 604800);
}

TEST(ExecutorConfigOptions, Errors) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {"executorConfig:\n  maxZombieSweepIntervalSeconds: 600\n",
            "executorConfig.maxZombieSweepIntervalSeconds: unknown key"},
           {"executorConfig:\n  maxZombieJobTimeoutSeconds: \"7d\"\n",
            "executorConfig.maxZombieJobTimeoutSeconds: must be an integer, got string"},
           {"executorConfig:\n  maxZombieJobTimeoutSeconds: 29\n",
            "executorConfig.maxZombieJobTimeoutSeconds: must be between 30 and 2147483647, got 29"},
           {"executorConfig:\n  maxZombieSweeperIntervalSeconds: 2147483648\n",
            "executorConfig.maxZombieSweeperIntervalSeconds: must be between 10 and 2147483647, "
            "got "
            "2147483648"},
           {"executorConfig:\n  maxZombieSweeperIntervalSeconds: 1.5\n",
            "executorConfig.maxZombieSweeperIntervalSeconds: must be an integer, got 1.5"},
           {"executorConfig: [1]\n", "executorConfig: must be an object, got array"},
       }) {
    SCOPED_TRACE(c.yaml);
    StatusOr<PolicyConfig> parsed = ParseConfigYaml(c.yaml);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().message(), c.error);
  }
}

}  // namespace
}  // namespace backstop::policy
