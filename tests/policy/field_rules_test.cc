// Shared field-validation helpers: paths, integer checks, violation collection and UPDATE
// ratcheting. Requests are decoded from AdmissionReview JSON by the real codec.

#include "policy/field_rules.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/admission_review.h"
#include "webhook/codec.h"

namespace backstop::policy {
namespace {

using nlohmann::json;

// Keeps the decoded document alive alongside the request that points into it.
struct Decoded {
  webhook::DecodedReview review;
  const AdmissionRequest& request() const { return review.request; }
};

Decoded Decode(const std::string& operation, const json& object, const json& old_object) {
  json request = {
      {"uid", "0d4c2b1a-5e6f-4a3b-9c8d-7e6f5a4b3c2d"},
      {"kind", {{"group", "kelos.dev"}, {"version", "v1alpha2"}, {"kind", "TaskSpawner"}}},
      {"resource", {{"group", "kelos.dev"}, {"version", "v1alpha2"}, {"resource", "taskspawners"}}},
      {"name", "spawner"},
      {"namespace", "default"},
      {"operation", operation},
      {"userInfo", {{"username", "kubernetes-admin"}}},
      {"object", object},
      {"oldObject", old_object},
  };
  const std::string body = json{
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request", request}}.dump();
  return Decoded{testing::DecodeOrFail(body)};
}

rapidjson::Document Parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

TEST(FieldPath, DottedAndResolved) {
  const FieldPath path{"spec", "failurePolicy"};
  EXPECT_EQ(path.String(), "spec.failurePolicy");
  EXPECT_EQ(path.Child("maxRetriesPerItem").String(), "spec.failurePolicy.maxRetriesPerItem");
  EXPECT_EQ(FieldPath{}.String(), "");

  const rapidjson::Document doc = Parse(R"({"spec":{"failurePolicy":{"a":null,"b":3}}})");
  ASSERT_NE(path.Child("b").Resolve(&doc), nullptr);
  EXPECT_EQ(path.Child("b").Resolve(&doc)->GetInt(), 3);
  ASSERT_NE(path.Child("a").Resolve(&doc), nullptr);  // JSON null is a value here
  EXPECT_TRUE(path.Child("a").Resolve(&doc)->IsNull());
  EXPECT_EQ(path.Child("c").Resolve(&doc), nullptr);
  EXPECT_EQ(FieldPath({"spec", "failurePolicy", "b", "deeper"}).Resolve(&doc), nullptr);
  EXPECT_EQ(path.Resolve(nullptr), nullptr);
}

TEST(DescribeValue, ScalarsByValueCompositesByType) {
  const rapidjson::Document doc =
      Parse(R"([-1, 1.5, "5m", true, null, {"a":1}, [1], "say \"hi\"", 18446744073709551615])");
  std::vector<std::string> got;
  for (const auto& v : doc.GetArray()) got.push_back(DescribeValue(v));
  EXPECT_EQ(got, (std::vector<std::string>{"-1", "1.5", "\"5m\"", "true", "null", "object", "array",
                                           "\"say \\\"hi\\\"\"", "18446744073709551615"}));
}

TEST(CheckInteger, Table) {
  struct Case {
    const char* json;
    int64_t min;
    int64_t max;
    IntCheck::Status status;
    int64_t value;
    const char* problem;
  };
  using S = IntCheck::Status;
  for (const Case& c : std::vector<Case>{
           {"0", 0, kInt32Max, S::kOk, 0, ""},
           {"2147483647", 0, kInt32Max, S::kOk, 2147483647, ""},
           {"7.0", 0, kInt32Max, S::kOk, 7, ""},
           {"-0.0", 0, kInt32Max, S::kOk, 0, ""},
           {"-1", 0, kInt32Max, S::kBelowMin, -1, "must be >= 0, got -1"},
           {"9", 10, kInt32Max, S::kBelowMin, 9, "must be >= 10, got 9"},
           {"2147483648", 0, kInt32Max, S::kAboveMax, 2147483648,
            "must be <= 2147483647 (int32), got 2147483648"},
           {"3601", 10, 3600, S::kAboveMax, 3601, "must be <= 3600, got 3601"},
           {"9223372036854775808", 0, kInt32Max, S::kAboveMax, 0,
            "must be <= 2147483647 (int32), got 9223372036854775808"},
           {"1e300", 0, kInt32Max, S::kAboveMax, 0, "must be <= 2147483647 (int32), got 1e300"},
           {"-1e300", 0, kInt32Max, S::kBelowMin, 0, "must be >= 0, got -1e300"},
           {"1.5", 0, kInt32Max, S::kNotInteger, 0, "must be an integer, got 1.5"},
           {"\"5\"", 0, kInt32Max, S::kNotInteger, 0, "must be an integer, got string \"5\""},
           {"false", 0, kInt32Max, S::kNotInteger, 0, "must be an integer, got boolean false"},
           {"null", 0, kInt32Max, S::kNotInteger, 0, "must be an integer, got null"},
           {"{}", 0, kInt32Max, S::kNotInteger, 0, "must be an integer, got object"},
       }) {
    SCOPED_TRACE(c.json);
    const rapidjson::Document doc = Parse(c.json);
    const IntCheck got = CheckInteger(doc, c.min, c.max);
    EXPECT_EQ(got.status, c.status);
    EXPECT_EQ(got.ok(), c.status == S::kOk);
    EXPECT_EQ(got.problem, c.problem);
    if (c.status != S::kNotInteger && c.value != 0) {
      EXPECT_EQ(got.value, c.value);
    }
  }
}

TEST(FieldRules, OptionalReadersRecordViolations) {
  const json object = {{"spec",
                        {{"n", 5},
                         {"bad_n", "5"},
                         {"s", "text"},
                         {"bad_s", 1},
                         {"b", true},
                         {"bad_b", "true"},
                         {"o", {{"x", 1}}},
                         {"bad_o", json::array()},
                         {"unset", nullptr}}}};
  const Decoded d = Decode("CREATE", object, nullptr);
  FieldRules rules(d.request());
  const FieldPath spec{"spec"};
  EXPECT_EQ(rules.OptionalInt("r", spec.Child("n"), 0, 10), 5);
  EXPECT_EQ(rules.OptionalInt("r", spec.Child("n"), 6, 10), std::nullopt);
  EXPECT_EQ(rules.OptionalInt("r", spec.Child("bad_n"), 0, 10), std::nullopt);
  EXPECT_EQ(rules.OptionalInt("r", spec.Child("unset"), 0, 10), std::nullopt);
  EXPECT_EQ(rules.OptionalInt("r", spec.Child("absent"), 0, 10), std::nullopt);
  EXPECT_EQ(rules.OptionalString("r", spec.Child("s")), "text");
  EXPECT_EQ(rules.OptionalString("r", spec.Child("bad_s")), std::nullopt);
  EXPECT_EQ(rules.OptionalBool("r", spec.Child("b")), true);
  EXPECT_EQ(rules.OptionalBool("r", spec.Child("bad_b")), std::nullopt);
  EXPECT_NE(rules.OptionalObject("r", spec.Child("o")), nullptr);
  EXPECT_EQ(rules.OptionalObject("r", spec.Child("bad_o")), nullptr);
  EXPECT_EQ(rules.OptionalObject("r", spec.Child("unset")), nullptr);

  std::vector<std::string> messages;
  for (const auto& v : rules.violations()) messages.push_back(v.Message());
  EXPECT_EQ(messages, (std::vector<std::string>{
                          "spec.n: must be >= 6, got 5",
                          "spec.bad_n: must be an integer, got string \"5\"",
                          "spec.bad_s: must be a string, got integer 1",
                          "spec.bad_b: must be a boolean, got string \"true\"",
                          "spec.bad_o: must be an object, got array",
                      }));
}

TEST(FieldRules, RejectUnknownMembersNamesPathAndValue) {
  const json object = {{"spec", {{"fp", {{"keep", 1}, {"typo", "x"}, {"other", {{"a", 1}}}}}}}};
  const Decoded d = Decode("CREATE", object, nullptr);
  FieldRules rules(d.request());
  rules.RejectUnknownMembers("r", FieldPath{"spec", "fp"}, {"keep", "also"});
  // Reported in document order (nlohmann::json writes keys sorted: other, typo).
  ASSERT_EQ(rules.violations().size(), 2u);
  EXPECT_EQ(rules.violations()[0].Message(),
            "spec.fp.other: unknown field, got object (known: keep, also)");
  EXPECT_EQ(rules.violations()[1].Message(),
            "spec.fp.typo: unknown field, got \"x\" (known: keep, also)");
  EXPECT_EQ(rules.violations()[1].rule, "r");
}

TEST(FieldRules, FinishAllowsWithWarningsOrDeniesEverythingAtOnce) {
  const Decoded d = Decode("CREATE", json{{"spec", json::object()}}, nullptr);
  FieldRules clean(d.request());
  Decision allowed = clean.Finish();
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.rule, "");

  FieldRules warned(d.request());
  warned.Warn("w.rule", "heads up");
  allowed = warned.Finish();
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.rule, "w.rule");
  EXPECT_EQ(allowed.warnings, std::vector<std::string>{"heads up"});

  FieldRules rules(d.request());
  rules.Violate("first.rule", FieldPath{"spec", "a"}, "bad a");
  rules.Violate("second.rule", FieldPath{"spec", "b"}, "bad b");
  rules.Warn("w.rule", "heads up");
  const Decision denied = rules.Finish();
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.code, 422);
  EXPECT_EQ(denied.reason, "Invalid");
  EXPECT_EQ(denied.rule, "first.rule");
  EXPECT_EQ(denied.message, "spec.a: bad a; spec.b: bad b");
  EXPECT_EQ(denied.warnings, std::vector<std::string>{"heads up"});
}

TEST(FieldRules, UpdateRatchetsOnlyUnchangedValues) {
  const json old_object = {{"spec", {{"same", -1}, {"changed", -1}, {"deep", {{"x", {1, 2}}}}}}};
  json object = old_object;
  object["spec"]["changed"] = -2;
  object["spec"]["deep"] = {{"x", {1, 2}}};  // equal by value, a different document
  object["spec"]["new"] = -3;
  const Decoded d = Decode("UPDATE", object, old_object);
  FieldRules rules(d.request());
  for (const char* key : {"same", "changed", "deep", "new"}) {
    rules.Violate("rule." + std::string(key), FieldPath{"spec", key}, "invalid");
  }
  const Decision decision = rules.Finish();
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "rule.changed");
  EXPECT_EQ(decision.message, "spec.changed: invalid; spec.new: invalid");
  EXPECT_EQ(decision.warnings,
            (std::vector<std::string>{"spec.same: invalid (unchanged, allowed)",
                                      "spec.deep: invalid (unchanged, allowed)"}));
}

TEST(FieldRules, RatchetedOnlyAnswersAllowWithTheViolationsRule) {
  const json object = {{"spec", {{"n", -1}}}};
  const Decoded d = Decode("UPDATE", object, object);
  FieldRules rules(d.request());
  rules.Violate("n.rule", FieldPath{"spec", "n"}, "must be >= 0, got -1");
  const Decision decision = rules.Finish();
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.rule, "n.rule");
  EXPECT_EQ(decision.warnings,
            std::vector<std::string>{"spec.n: must be >= 0, got -1 (unchanged, allowed)"});
}

TEST(FieldRules, CreateAndDeleteNeverRatchet) {
  const json object = {{"spec", {{"n", -1}}}};
  for (const char* operation : {"CREATE", "DELETE", "CONNECT"}) {
    SCOPED_TRACE(operation);
    const Decoded d = Decode(operation, object, object);
    FieldRules rules(d.request());
    rules.Violate("n.rule", FieldPath{"spec", "n"}, "bad");
    EXPECT_FALSE(rules.Finish().allowed);
  }
}

}  // namespace
}  // namespace backstop::policy
