// A rule added through the table alone: its own config section in the one config pass,
// dispatch to it over HTTPS, and the built-in rules unchanged beside it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "app/config_file.h"
#include "app/decider.h"
#include "base/json_util.h"
#include "policy/engine.h"
#include "policy/field_rules.h"
#include "policy/rules.h"
#include "tests/support/admission_review.h"
#include "tests/support/served_policy.h"
#include "tests/support/test_certs.h"

namespace backstop::app {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// The toy rule: example.com Widgets may not be larger than widgets.maxSize.
struct WidgetOptions {
  int64_t max_size = 10;  // key maxSize
};

void ParseWidgetOptions(ConfigReader reader, WidgetOptions* out) {
  reader.Int("maxSize", &out->max_size, 1, 1000);
  reader.RejectUnknown();
}

policy::Decision ValidateWidget(const policy::AdmissionRequest& request,
                                const policy::PolicyContext& context) {
  const WidgetOptions& options = context.config.Get<WidgetOptions>();
  policy::FieldRules rules(request);
  const policy::FieldPath size{"spec", "size"};
  if (auto value = rules.OptionalInt("widget.size", size, 0, policy::kInt32Max)) {
    if (*value > options.max_size) {
      rules.Violate("widget.size", size,
                    "must be <= " + std::to_string(options.max_size) + " (widgets.maxSize), got " +
                        std::to_string(*value));
    }
  }
  return rules.Finish();
}

policy::RuleTable TableWithWidgets() {
  policy::RuleTable table = policy::BuiltinRules();
  table.Add(policy::MakeRule<WidgetOptions>("widgets", "example.com Widget: size limit",
                                            policy::Endpoint::kValidate,
                                            {{"example.com",
                                              {"v1"},
                                              "widgets",
                                              "Widget",
                                              {policy::Operation::kCreate},
                                              "widgets.validate.example.com"}},
                                            &ParseWidgetOptions, &ValidateWidget));
  return table;
}

std::string WidgetReview(int size) {
  testing::ReviewSpec spec;
  spec.group = "example.com";
  spec.kind = "Widget";
  spec.resource = "widgets";
  spec.name = "w";
  spec.object = {{"apiVersion", "example.com/v1"},
                 {"kind", "Widget"},
                 {"metadata", {{"name", "w"}, {"namespace", "default"}}},
                 {"spec", {{"size", size}}}};
  return testing::AdmissionReview(spec).dump();
}

TEST(RuleTableServed, AToyRuleAddedThroughTheTableAnswersOverHttps) {
  const policy::RuleTable table = TableWithWidgets();
  testing::TempDir dir;
  const std::string config_file =
      dir.Write("config.yaml", "widgets:\n  maxSize: 3\ntaskSpawner:\n  minPollInterval: 1m\n")
          .string();
  auto config = LoadConfig(config_file, table);
  ASSERT_TRUE(config.ok()) << config.status().message();

  const policy::TimePoint now = policy::Clock::now();
  DecisionInputs inputs{config->policy, std::make_shared<const policy::ClusterFacts>(), now, now,
                        &table};
  testing::ServedPolicy server(inputs);

  const json denied = server.Post("/validate", WidgetReview(5));
  ASSERT_TRUE(denied.is_object());
  EXPECT_EQ(denied["response"]["allowed"], false) << denied.dump();
  EXPECT_EQ(denied["response"]["status"]["code"], 422);
  EXPECT_EQ(denied["response"]["status"]["message"],
            "spec.size: must be <= 3 (widgets.maxSize), got 5");

  const json allowed = server.Post("/validate", WidgetReview(2));
  EXPECT_EQ(allowed["response"]["allowed"], true) << allowed.dump();
  // The mutating path has no widget rule: allowed without a patch.
  const json mutated = server.Post("/mutate", WidgetReview(5));
  EXPECT_EQ(mutated["response"]["allowed"], true) << mutated.dump();
  EXPECT_FALSE(mutated["response"].contains("patch"));

  // The built-in rules still answer beside it, with their own section of the same file.
  testing::ReviewSpec spawner;
  spawner.group = "kelos.dev";
  spawner.version = "v1alpha2";
  spawner.kind = "TaskSpawner";
  spawner.resource = "taskspawners";
  spawner.object = {{"apiVersion", "kelos.dev/v1alpha2"},
                    {"kind", "TaskSpawner"},
                    {"metadata", {{"name", "s"}, {"namespace", "default"}}},
                    {"spec", {{"when", {{"githubIssues", {{"pollInterval", "45s"}}}}}}}};
  const json spawner_answer = server.Post("/validate", testing::AdmissionReview(spawner).dump());
  EXPECT_EQ(spawner_answer["response"]["allowed"], false) << spawner_answer.dump();
  EXPECT_THAT(spawner_answer["response"]["status"]["message"].get<std::string>(),
              HasSubstr("must be >= 1m"));
}

TEST(RuleTableServed, TheBuiltinTableRejectsTheToySection) {
  testing::TempDir dir;
  const std::string config_file = dir.Write("config.yaml", "widgets:\n  maxSize: 3\n").string();
  auto config = LoadConfig(config_file);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("widgets: unknown key"));
}

}  // namespace
}  // namespace backstop::app
