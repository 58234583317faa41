#include "tests/support/admission_review.h"

#include <gtest/gtest.h>

#include "policy/cluster_facts.h"
#include "policy/config.h"
#include "policy/engine.h"
#include "webhook/codec.h"

namespace backstop::testing {

nlohmann::json AdmissionReview(const ReviewSpec& r) {
  using nlohmann::json;
  json gvk = {{"group", r.group}, {"version", r.version}, {"kind", r.kind}};
  json gvr = {{"group", r.group}, {"version", r.version}, {"resource", r.resource}};
  json request = {{"uid", r.uid},
                  {"kind", gvk},
                  {"resource", gvr},
                  {"requestKind", gvk},
                  {"requestResource", gvr},
                  {"name", r.name},
                  {"namespace", r.ns},
                  {"operation", r.operation},
                  {"userInfo", {{"username", r.username}, {"groups", r.groups}}},
                  {"dryRun", r.dry_run}};
  if (!r.sub_resource.empty()) request["subResource"] = r.sub_resource;
  if (!r.object.is_null()) request["object"] = r.object;
  if (!r.old_object.is_null()) request["oldObject"] = r.old_object;
  const char* options = r.operation == "CREATE"   ? "CreateOptions"
                        : r.operation == "UPDATE" ? "UpdateOptions"
                                                  : "DeleteOptions";
  request["options"] = {{"kind", options}, {"apiVersion", "meta.k8s.io/v1"}};
  return json{
      {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

webhook::DecodedReview DecodeOrFail(const std::string& body, bool allow_bare_request) {
  webhook::DecodedReview review;
  if (Status decoded = webhook::DecodeAdmissionReview(body, &review, allow_bare_request);
      !decoded.ok()) {
    ADD_FAILURE() << "decode: " << decoded.message();
    return webhook::DecodedReview{};
  }
  return review;
}

policy::Decision ValidateAsServed(const ReviewSpec& spec, const policy::PolicyConfig& config) {
  webhook::DecodedReview review;
  if (Status decoded = webhook::DecodeAdmissionReview(AdmissionReview(spec).dump(), &review);
      !decoded.ok()) {
    ADD_FAILURE() << "decode: " << decoded.message();
    return policy::Decision::Errored(HttpStatusFor(decoded), decoded.message());
  }
  policy::ClusterFacts facts;
  policy::PolicyContext context{config, facts, policy::TimePoint{}, policy::TimePoint{}};
  return policy::Validate(review.request, context);
}

policy::PolicyConfig ConfigOrFail(const nlohmann::json& config) {
  rapidjson::Document doc;
  doc.Parse(config.dump().c_str());
  auto parsed = policy::ParsePolicyConfig(doc);
  if (!parsed.ok()) {
    ADD_FAILURE() << parsed.status().message();
    return policy::PolicyConfig{};
  }
  return std::move(parsed).value();
}

void ExpectWellFormedWarnings(const policy::Decision& d) {
  for (const auto& w : d.warnings) {
    EXPECT_LE(w.size(), 120u) << w;
    EXPECT_NE(w.rfind("Warning:", 0), 0u) << w;
  }
}

}  // namespace backstop::testing
