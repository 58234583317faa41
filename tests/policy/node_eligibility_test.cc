#include "policy/node_eligibility.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <ostream>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "tests/support/fixtures.h"

namespace backstop::policy {
namespace {

// Nodes with their real names and labels from a NodeList fixture (images do not matter
// for eligibility).
ClusterFacts NodesFrom(const std::string& fixture) {
  auto doc = testing::LoadFixtureJson(fixture);
  ClusterFacts facts;
  facts.synced = true;
  const rapidjson::Value* items = Member(doc.get(), "items");
  std::vector<const rapidjson::Value*> nodes;
  if (items != nullptr && items->IsArray()) {
    for (const auto& n : items->GetArray()) nodes.push_back(&n);
  } else {
    nodes.push_back(doc.get());
  }
  for (const rapidjson::Value* n : nodes) {
    NodeFacts nf;
    nf.name = std::string(AsString(Find(n, {"metadata", "name"})).value_or(""));
    if (const rapidjson::Value* labels = Find(n, {"metadata", "labels"})) {
      for (auto it = labels->MemberBegin(); it != labels->MemberEnd(); ++it) {
        nf.labels.emplace(it->name.GetString(), it->value.GetString());
      }
    }
    facts.nodes.push_back(std::move(nf));
  }
  IndexNodes(facts);
  return facts;
}

rapidjson::Document Spec(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

std::vector<std::string> Names(const EligibleNodes& e, const ClusterFacts& facts) {
  std::vector<std::string> out;
  for (uint32_t i : e.nodes) out.push_back(facts.nodes[i].name);
  return out;
}

class NodeEligibilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BACKSTOP_REQUIRE_FIXTURES();
    // 9 OpenShift nodes: compute01-05 (region=primary), infra01-03 (region=infra) and
    // host.example.com (no region label).
    facts_ = NodesFrom("nodes/miq-openshift_nodelist_9nodes_images.json");
    ASSERT_EQ(facts_.nodes.size(), 9u);
  }
  ClusterFacts facts_;
};

TEST_F(NodeEligibilityTest, NoConstraintMeansAllNodesWithoutWalking) {
  auto spec = Spec(R"({"containers":[{"name":"a","image":"x"}]})");
  EligibleNodes e = FindEligibleNodes(spec, facts_);
  EXPECT_TRUE(e.all);
  EXPECT_TRUE(e.nodes.empty());
  EXPECT_EQ(e.constraint, "");
  // An empty nodeSelector does not constrain either.
  auto empty_selector = Spec(R"({"nodeSelector":{}})");
  EXPECT_TRUE(FindEligibleNodes(empty_selector, facts_).all);
}

TEST_F(NodeEligibilityTest, NodeNameWinsOverSelectors) {
  auto spec = Spec(R"({"nodeName":"host.example.com","nodeSelector":{"region":"infra"}})");
  EligibleNodes e = FindEligibleNodes(spec, facts_);
  EXPECT_FALSE(e.all);
  EXPECT_EQ(e.constraint, "nodeName");
  EXPECT_EQ(Names(e, facts_), std::vector<std::string>{"host.example.com"});
}

TEST_F(NodeEligibilityTest, UnknownNodeNameGivesNoEligibleNode) {
  auto spec = Spec(R"({"nodeName":"kind-worker"})");
  EligibleNodes e = FindEligibleNodes(spec, facts_);
  EXPECT_FALSE(e.all);
  EXPECT_TRUE(e.nodes.empty());
}

TEST_F(NodeEligibilityTest, NodeNameFoundWithoutIndex) {
  facts_.node_index.clear();  // a builder that did not fill the index
  auto spec = Spec(R"({"nodeName":"ladislav-ocp-3.6-infra02.10.35.49.19.nip.io"})");
  EXPECT_EQ(Names(FindEligibleNodes(spec, facts_), facts_),
            std::vector<std::string>{"ladislav-ocp-3.6-infra02.10.35.49.19.nip.io"});
}

TEST_F(NodeEligibilityTest, NodeSelectorMatchesAllPairs) {
  auto infra = Spec(R"({"nodeSelector":{"region":"infra","zone":"default"}})");
  EligibleNodes e = FindEligibleNodes(infra, facts_);
  EXPECT_EQ(e.constraint, "nodeSelector");
  EXPECT_EQ(e.nodes.size(), 3u);
  for (const auto& n : Names(e, facts_)) EXPECT_NE(n.find("infra"), std::string::npos) << n;

  auto none = Spec(R"({"nodeSelector":{"region":"infra","zone":"other"}})");
  EXPECT_TRUE(FindEligibleNodes(none, facts_).nodes.empty());
  // The router pod's real selector (insights fixture) matches none of these nodes.
  auto router = testing::LoadFixtureJson("pods/insights_unschedulable_router.json");
  EligibleNodes r = FindEligibleNodes((*router)["spec"], facts_);
  EXPECT_FALSE(r.all);
  EXPECT_TRUE(r.nodes.empty());
}

struct AffinityCase {
  const char* name;
  const char* affinity;  // requiredDuringSchedulingIgnoredDuringExecution
  size_t expected;
};
void PrintTo(const AffinityCase& c, std::ostream* os) { *os << c.name; }

class AffinityTest : public NodeEligibilityTest,
                     public ::testing::WithParamInterface<AffinityCase> {};

TEST_P(AffinityTest, Matches) {
  const AffinityCase& c = GetParam();
  auto spec = Spec(
      std::string(
          R"({"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":)") +
      c.affinity + "}}}");
  EligibleNodes e = FindEligibleNodes(spec, facts_);
  EXPECT_FALSE(e.all);
  EXPECT_EQ(e.constraint, "node affinity");
  EXPECT_EQ(e.nodes.size(), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Operators, AffinityTest,
    ::testing::Values(
        AffinityCase{
            "In",
            R"({"nodeSelectorTerms":[{"matchExpressions":[{"key":"region","operator":"In","values":["infra","nope"]}]}]})",
            3},
        AffinityCase{
            "NotInIncludesUnlabelled",
            R"({"nodeSelectorTerms":[{"matchExpressions":[{"key":"region","operator":"NotIn","values":["infra"]}]}]})",
            6},
        AffinityCase{
            "Exists",
            R"({"nodeSelectorTerms":[{"matchExpressions":[{"key":"region","operator":"Exists"}]}]})",
            8},
        AffinityCase{
            "DoesNotExist",
            R"({"nodeSelectorTerms":[{"matchExpressions":[{"key":"region","operator":"DoesNotExist"}]}]})",
            1},
        AffinityCase{
            "ExpressionsAreAnded",
            R"({"nodeSelectorTerms":[{"matchExpressions":[{"key":"region","operator":"Exists"},{"key":"region","operator":"NotIn","values":["primary"]}]}]})",
            3},
        AffinityCase{
            "TermsAreOred",
            R"({"nodeSelectorTerms":[{"matchExpressions":[{"key":"region","operator":"In","values":["infra"]}]},{"matchExpressions":[{"key":"region","operator":"DoesNotExist"}]}]})",
            4},
        AffinityCase{
            "MatchFieldsName",
            R"({"nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"In","values":["host.example.com"]}]}]})",
            1},
        AffinityCase{"EmptyTermMatchesNothing", R"({"nodeSelectorTerms":[{}]})", 0},
        AffinityCase{"NoTermsMatchNothing", R"({"nodeSelectorTerms":[]})", 0},
        AffinityCase{
            "UnknownOperator",
            R"({"nodeSelectorTerms":[{"matchExpressions":[{"key":"region","operator":"Like","values":["infra"]}]}]})",
            0}),
    [](const ::testing::TestParamInfo<AffinityCase>& p) { return std::string(p.param.name); });

TEST_F(NodeEligibilityTest, GtLtCompareIntegers) {
  // The fixture nodes carry no numeric label: add one (edited in memory).
  facts_.nodes[0].labels["gpu-count"] = "4";
  facts_.nodes[1].labels["gpu-count"] = "1";
  facts_.nodes[2].labels["gpu-count"] = "many";
  auto gt = Spec(
      R"({"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"gpu-count","operator":"Gt","values":["2"]}]}]}}}})");
  EXPECT_EQ(Names(FindEligibleNodes(gt, facts_), facts_),
            std::vector<std::string>{facts_.nodes[0].name});
  auto lt = Spec(
      R"({"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"gpu-count","operator":"Lt","values":["2"]}]}]}}}})");
  EXPECT_EQ(Names(FindEligibleNodes(lt, facts_), facts_),
            std::vector<std::string>{facts_.nodes[1].name});
  // Gt needs exactly one integer value.
  auto bad = Spec(
      R"({"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"gpu-count","operator":"Gt","values":["1","2"]}]}]}}}})");
  EXPECT_TRUE(FindEligibleNodes(bad, facts_).nodes.empty());
}

TEST_F(NodeEligibilityTest, SelectorAndAffinityCombine) {
  auto spec = Spec(
      R"({"nodeSelector":{"region":"infra"},"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"NotIn","values":["ladislav-ocp-3.6-infra01.10.35.49.18.nip.io"]}]}]}}}})");
  EligibleNodes e = FindEligibleNodes(spec, facts_);
  EXPECT_EQ(e.constraint, "nodeSelector and node affinity");
  EXPECT_EQ(Names(e, facts_),
            (std::vector<std::string>{"ladislav-ocp-3.6-infra02.10.35.49.19.nip.io",
                                      "ladislav-ocp-3.6-infra03.10.35.49.20.nip.io"}));
}

TEST_F(NodeEligibilityTest, PreferredAffinityDoesNotNarrow) {
  auto spec = Spec(
      R"({"affinity":{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":1,"preference":{"matchExpressions":[{"key":"region","operator":"In","values":["infra"]}]}}]}}})");
  EXPECT_TRUE(FindEligibleNodes(spec, facts_).all);
}

}  // namespace
}  // namespace backstop::policy
