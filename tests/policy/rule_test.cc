#include "policy/rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>
#include <string>
#include <vector>

#include "policy/engine.h"
#include "policy/rules.h"

namespace backstop::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A rule that records what it saw and answers as told.
struct Probe {
  int calls = 0;
  Decision answer = Decision::Allowed();
};

Rule ProbeRule(std::string name, Endpoint endpoint, std::vector<RuleTarget> targets, Probe* probe) {
  Rule rule;
  rule.name = std::move(name);
  rule.endpoint = endpoint;
  rule.targets = std::move(targets);
  rule.decide = [probe](const AdmissionRequest&, const PolicyContext&) {
    ++probe->calls;
    return probe->answer;
  };
  return rule;
}

AdmissionRequest Request(std::string group, std::string kind, Operation op,
                         std::string sub_resource = "") {
  AdmissionRequest r;
  r.uid = "u";
  r.kind = {std::move(group), "v1", std::move(kind)};
  r.operation = op;
  r.sub_resource = std::move(sub_resource);
  return r;
}

class RuleTableTest : public ::testing::Test {
 protected:
  Decision Decide(const RuleTable& table, Endpoint endpoint, const AdmissionRequest& request) {
    const PolicyContext context{config_, facts_, TimePoint{}, TimePoint{}};
    return table.Decide(endpoint, request, context);
  }
  PolicyConfig config_;
  ClusterFacts facts_;
};

TEST_F(RuleTableTest, DispatchesOnGroupKindOperationAndEndpoint) {
  Probe widgets, gadgets;
  RuleTable table;
  table.Add(ProbeRule("widgets", Endpoint::kValidate,
                      {{"example.com", {"v1"}, "widgets", "Widget", {Operation::kCreate}, "w"}},
                      &widgets));
  table.Add(
      ProbeRule("gadgets", Endpoint::kMutate,
                {{"", {"v1"}, "gadgets", "Gadget", {Operation::kCreate, Operation::kUpdate}, "g"}},
                &gadgets));

  Decide(table, Endpoint::kValidate, Request("example.com", "Widget", Operation::kCreate));
  EXPECT_EQ(widgets.calls, 1);
  // Not its operation, not its group, not its endpoint, a subresource: not called.
  Decide(table, Endpoint::kValidate, Request("example.com", "Widget", Operation::kUpdate));
  Decide(table, Endpoint::kValidate, Request("other.com", "Widget", Operation::kCreate));
  Decide(table, Endpoint::kMutate, Request("example.com", "Widget", Operation::kCreate));
  Decide(table, Endpoint::kValidate,
         Request("example.com", "Widget", Operation::kCreate, "status"));
  EXPECT_EQ(widgets.calls, 1);

  Decide(table, Endpoint::kMutate, Request("", "Gadget", Operation::kUpdate));
  EXPECT_EQ(gadgets.calls, 1);
  const Decision none = Decide(table, Endpoint::kValidate, Request("", "Pod", Operation::kCreate));
  EXPECT_TRUE(none.allowed);
  EXPECT_TRUE(none.rule.empty());
}

TEST_F(RuleTableTest, AnswersOfSeveralMatchingRulesAreMerged) {
  Probe warns, denies;
  warns.answer = Decision::Allowed().WithWarning("careful").WithRule("a.warn");
  denies.answer = Decision::Denied("b.deny", "no", 422, "Invalid");
  const RuleTarget target{"", {"v1"}, "pods", "Pod", {Operation::kCreate}, "p"};
  RuleTable table;
  table.Add(ProbeRule("a", Endpoint::kValidate, {target}, &warns));
  table.Add(ProbeRule("b", Endpoint::kValidate, {target}, &denies));
  const Decision d = Decide(table, Endpoint::kValidate, Request("", "Pod", Operation::kCreate));
  EXPECT_EQ(warns.calls, 1);
  EXPECT_EQ(denies.calls, 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.code, 422);
  EXPECT_EQ(d.rule, "b.deny");
  EXPECT_THAT(d.warnings, ElementsAre("careful"));
}

struct WidgetOptions {
  int64_t max_size = 10;
};
void ParseWidgetOptions(ConfigReader reader, WidgetOptions* out) {
  reader.Int("maxSize", &out->max_size, 1, 100);
  reader.RejectUnknown();
}
Decision NoDecision(const AdmissionRequest&, const PolicyContext&) { return Decision::Allowed(); }

TEST_F(RuleTableTest, EachRuleReadsItsOwnSection) {
  RuleTable table = BuiltinRules();
  table.Add(MakeRule<WidgetOptions>("widgets", "toy", Endpoint::kValidate, {}, &ParseWidgetOptions,
                                    &NoDecision));
  rapidjson::Document doc;
  doc.Parse(R"({"widgets":{"maxSize":3},"jobs":{"defaultActiveDeadlineSeconds":600}})");
  StatusOr<PolicyConfig> config = ParsePolicyConfig(doc, table);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->Get<WidgetOptions>().max_size, 3);

  // Without the rule in the table its section is an unknown key; errors of every section
  // come back together.
  doc.Parse(R"({"widgets":{"maxSize":3},"jobs":{"defaultActiveDeadlineSeconds":-1}})");
  config = ParsePolicyConfig(doc);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("widgets: unknown key"));
  EXPECT_THAT(config.status().message(), HasSubstr("jobs.defaultActiveDeadlineSeconds"));
}

TEST(PolicyConfigTest, UnconfiguredOptionsAreDefaultsAndCopiesAreIndependent) {
  PolicyConfig a;
  EXPECT_EQ(a.Get<WidgetOptions>().max_size, 10);
  a.Mutable<WidgetOptions>().max_size = 4;
  PolicyConfig b = a;
  b.Mutable<WidgetOptions>().max_size = 5;
  EXPECT_EQ(a.Get<WidgetOptions>().max_size, 4);
  EXPECT_EQ(b.Get<WidgetOptions>().max_size, 5);
}

// The built-in table: unique names, every rule decides and has a config section, every
// target names a webhook of its endpoint.
TEST(BuiltinRules, AreWellFormed) {
  std::set<std::string> names;
  for (const Rule& rule : BuiltinRules().rules()) {
    EXPECT_TRUE(names.insert(rule.name).second) << rule.name;
    EXPECT_TRUE(static_cast<bool>(rule.decide)) << rule.name;
    EXPECT_TRUE(static_cast<bool>(rule.parse_options)) << rule.name;
    EXPECT_FALSE(rule.summary.empty()) << rule.name;
    ASSERT_FALSE(rule.targets.empty()) << rule.name;
    for (const RuleTarget& t : rule.targets) {
      EXPECT_FALSE(t.kind.empty());
      EXPECT_FALSE(t.resource.empty());
      EXPECT_FALSE(t.versions.empty());
      EXPECT_FALSE(t.operations.empty());
      EXPECT_THAT(t.webhook,
                  HasSubstr(std::string(".") + std::string(EndpointName(rule.endpoint)) + "."))
          << rule.name << " " << t.kind;
    }
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("taskSpawner", "executorConfig", "images",
                                                     "jobs", "retryBudget"));
}

}  // namespace
}  // namespace backstop::policy
