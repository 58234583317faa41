#include "webhook/codec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "app/documents.h"
#include "base/json_util.h"
#include "tests/support/base64.h"
#include "tests/support/fixtures.h"

namespace backstop::webhook {
namespace {

using backstop::testing::Fixture;
using backstop::testing::FixtureFiles;
using backstop::testing::ReadFixture;
using nlohmann::json;

// The codec's answer for one body: its status and what it decoded.
struct Decoded {
  Status status;
  DecodedReview review;
};
Decoded Decode(std::string_view body, bool allow_bare_request = false) {
  Decoded d;
  d.status = DecodeAdmissionReview(body, &d.review, allow_bare_request);
  return d;
}
const DecodedReview* Ok(const Decoded& r) { return r.status.ok() ? &r.review : nullptr; }
const Status* Err(const Decoded& r) { return r.status.ok() ? nullptr : &r.status; }

// Every AdmissionReview request fixture decodes, with fields matching the JSON itself.
TEST(CodecFixtures, EveryRequestFixtureDecodes) {
  BACKSTOP_REQUIRE_FIXTURES();
  int decoded = 0;
  for (const auto& path : FixtureFiles("admission", {".json"})) {
    const std::string name = path.filename().string();
    if (name.rfind("k8s-docs_v1_response", 0) == 0) continue;  // responses: see below
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string body = ss.str();
    const json expected = json::parse(body);
    const bool bare = !expected.contains("request");
    const json& req = bare ? expected : expected["request"];
    Decoded r = Decode(body, /*allow_bare_request=*/true);
    const DecodedReview* review = Ok(r);
    ASSERT_NE(review, nullptr) << name << ": " << Err(r)->message();
    EXPECT_EQ(review->api_version,
              bare ? "admission.k8s.io/v1" : expected["apiVersion"].get<std::string>())
        << name;
    EXPECT_EQ(review->request.uid, req["uid"].get<std::string>()) << name;
    EXPECT_EQ(review->request.kind.kind, req["kind"]["kind"].get<std::string>()) << name;
    EXPECT_EQ(review->request.kind.group, req["kind"].value("group", "")) << name;
    EXPECT_EQ(review->request.resource.resource, req["resource"]["resource"].get<std::string>())
        << name;
    EXPECT_EQ(policy::OperationName(review->request.operation), req["operation"].get<std::string>())
        << name;
    EXPECT_EQ(review->request.ns, req.value("namespace", "")) << name;
    const bool has_object = req.contains("object") && req["object"].is_object();
    EXPECT_EQ(review->request.object != nullptr, has_object) << name;
    if (has_object) {
      // The object is kept as parsed: serialising it gives back the same JSON.
      EXPECT_EQ(json::parse(ToJson(*review->request.object)), req["object"]) << name;
    }
    const bool has_old = req.contains("oldObject") && req["oldObject"].is_object();
    EXPECT_EQ(review->request.old_object != nullptr, has_old) << name;
    EXPECT_EQ(review->request.dry_run, req.value("dryRun", false)) << name;
    if (req.contains("userInfo")) {
      EXPECT_EQ(review->request.user_info.username, req["userInfo"].value("username", "")) << name;
    }
    ++decoded;
  }
  EXPECT_GE(decoded, 18);
}

TEST(CodecFixtures, BareRequestsNeedTheOptIn) {
  BACKSTOP_REQUIRE_FIXTURES();
  Decoded r = Decode(ReadFixture("admission/kubewarden-user-group_job_create.json"), false);
  ASSERT_NE(Err(r), nullptr);
  EXPECT_EQ(Err(r)->message(), "apiVersion: is required");
}

TEST(CodecFixtures, CapturedLiveReviewsDecode) {
  BACKSTOP_REQUIRE_FIXTURES();
  std::ifstream in(Fixture("admission/kube-audit-rest_captured_v1_reviews.ndjson"));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Decoded r = Decode(line);
    const DecodedReview* review = Ok(r);
    ASSERT_NE(review, nullptr) << "line " << n + 1 << ": " << Err(r)->message();
    EXPECT_EQ(review->request.uid, json::parse(line)["request"]["uid"].get<std::string>());
    ++n;
  }
  EXPECT_EQ(n, 59);
}

// Documented response examples are not requests: each fails with a precise message.
TEST(CodecFixtures, ResponseDocumentsAreRejectedPrecisely) {
  BACKSTOP_REQUIRE_FIXTURES();
  for (const auto& path :
       FixtureFiles("admission", {"_response_allow_minimal.json", "_response_forbid_minimal.json",
                                  "_response_patch.json"})) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    Decoded r = Decode(ss.str());
    ASSERT_NE(Err(r), nullptr) << path;
    EXPECT_EQ(Err(r)->message(), "request: is required (an AdmissionReview without a request)");
    EXPECT_EQ(HttpStatusFor(*Err(r)), 400);
  }
}

// YAML captures (request + response in one document) decode once converted to JSON.
// One upstream file misspells the top-level key as "iapiVersion": that one must fail
// precisely, naming the missing field.
TEST(CodecFixtures, YamlReviewsDecodeAfterConversion) {
  BACKSTOP_REQUIRE_FIXTURES();
  int checked = 0;
  for (const auto& path : FixtureFiles("admission", {".yaml"})) {
    auto docs = app::LoadDocuments(path.string());
    ASSERT_TRUE(docs.ok()) << docs.status().message();
    ASSERT_EQ(docs->size(), 1u);
    const rapidjson::Value& doc = *(*docs)[0].json;
    Decoded r = Decode(ToJson(doc));
    if (Member(&doc, "apiVersion") == nullptr) {
      ASSERT_NE(Member(&doc, "iapiVersion"), nullptr) << path;
      ASSERT_NE(Err(r), nullptr) << path;
      EXPECT_EQ(Err(r)->message(), "apiVersion: is required");
    } else {
      const DecodedReview* review = Ok(r);
      ASSERT_NE(review, nullptr) << path << ": " << Err(r)->message();
      EXPECT_EQ(review->api_version, "admission.k8s.io/v1beta1");
      EXPECT_EQ(review->request.kind.kind, "Deployment");
    }
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

struct BadCase {
  const char* name;
  const char* body;
  const char* message;
  const char* uid;  // known uid, or "" when none could be read
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class CodecBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(CodecBadInput, AnswersPrecisely) {
  const BadCase& c = GetParam();
  Decoded r = Decode(c.body);
  const Status* e = Err(r);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpStatusFor(*e), 400);
  EXPECT_EQ(e->message(), c.message);
  EXPECT_EQ(r.review.request.uid, c.uid);
}

#define REVIEW(req) \
  "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":" req "}"
#define GOOD_KIND                                                                               \
  "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},\"resource\":{\"group\":\"\"," \
  "\"version\":\"v1\",\"resource\":\"pods\"}"

INSTANTIATE_TEST_SUITE_P(
    Cases, CodecBadInput,
    ::testing::Values(
        BadCase{"empty", "", "request body is empty: expected an AdmissionReview JSON object", ""},
        BadCase{"truncated", "{\"apiVersion\":", "invalid JSON at byte 14: Invalid value.", ""},
        BadCase{"array", "[]", "body must be a JSON object (an AdmissionReview), got array", ""},
        BadCase{"no_api_version", "{\"kind\":\"AdmissionReview\"}", "apiVersion: is required", ""},
        BadCase{"api_version_type", "{\"apiVersion\":1,\"kind\":\"AdmissionReview\"}",
                "apiVersion: must be a string, got integer", ""},
        BadCase{"unknown_api_version",
                "{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\"}",
                "apiVersion: unsupported \"admission.k8s.io/v2\": backstop answers "
                "admission.k8s.io/v1 and admission.k8s.io/v1beta1",
                ""},
        BadCase{"wrong_kind", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}",
                "kind: must be AdmissionReview, got \"Pod\"", ""},
        BadCase{"no_request",
                "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
                "request: is required (an AdmissionReview without a request)", ""},
        BadCase{"request_string", REVIEW("\"x\""), "request: must be an object, got string", ""},
        BadCase{"no_uid", REVIEW("{" GOOD_KIND ",\"operation\":\"CREATE\"}"),
                "request.uid: is required", ""},
        BadCase{"uid_number", REVIEW("{\"uid\":7}"), "request.uid: must be a string, got integer",
                ""},
        BadCase{"uid_empty", REVIEW("{\"uid\":\"\"}"), "request.uid: must not be empty", ""},
        BadCase{"no_kind", REVIEW("{\"uid\":\"u1\",\"operation\":\"CREATE\"}"),
                "request.kind: is required", "u1"},
        BadCase{"kind_kind_type",
                REVIEW("{\"uid\":\"u1\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":5}}"),
                "request.kind.kind: must be a string, got integer", "u1"},
        BadCase{"bad_operation", REVIEW("{\"uid\":\"u2\"," GOOD_KIND ",\"operation\":\"PATCH\"}"),
                "request.operation: must be one of CREATE, UPDATE, DELETE, CONNECT, got \"PATCH\"",
                "u2"},
        BadCase{"object_array",
                REVIEW("{\"uid\":\"u3\"," GOOD_KIND ",\"operation\":\"CREATE\",\"object\":[]}"),
                "request.object: must be an object, got array", "u3"},
        BadCase{
            "dry_run_string",
            REVIEW("{\"uid\":\"u4\"," GOOD_KIND ",\"operation\":\"CREATE\",\"dryRun\":\"yes\"}"),
            "request.dryRun: must be a boolean, got string", "u4"},
        BadCase{"groups_not_strings",
                REVIEW("{\"uid\":\"u5\"," GOOD_KIND
                       ",\"operation\":\"CREATE\",\"userInfo\":{\"groups\":[1]}}"),
                "request.userInfo.groups[0]: must be a string, got integer", "u5"},
        BadCase{"trailing_garbage", "{\"apiVersion\":\"admission.k8s.io/v1\"} x",
                "invalid JSON at byte 37: The document root must not be followed by other values.",
                ""}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return p.param.name; });

TEST(CodecEncode, AllowedEchoesUidAndApiVersion) {
  std::string out = EncodeAdmissionResponse("admission.k8s.io/v1beta1", "abc-123",
                                            policy::Decision::Allowed(), true);
  json j = json::parse(out);
  EXPECT_EQ(j["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(j["kind"], "AdmissionReview");
  EXPECT_EQ(j["response"]["uid"], "abc-123");
  EXPECT_EQ(j["response"]["allowed"], true);
  EXPECT_FALSE(j["response"].contains("status"));
  EXPECT_FALSE(j["response"].contains("patch"));
}

TEST(CodecEncode, DenialCarriesStatusAndRaisesLowCodes) {
  auto d = policy::Decision::Denied("r", "no way", 200, "Forbidden");
  json j = json::parse(EncodeAdmissionResponse("admission.k8s.io/v1", "u", d, false));
  EXPECT_EQ(j["response"]["allowed"], false);
  EXPECT_EQ(j["response"]["status"]["code"], 400);
  EXPECT_EQ(j["response"]["status"]["message"], "no way");
  EXPECT_EQ(j["response"]["status"]["reason"], "Forbidden");
}

TEST(CodecEncode, PatchIsBase64JsonPatchOnlyWhereAllowed) {
  auto d = policy::Decision::Patched(
      {{"add", "/metadata/annotations/backstop.dev~1x", "\"1\""}, {"remove", "/spec/x", ""}});
  json j = json::parse(EncodeAdmissionResponse("admission.k8s.io/v1", "u", d, true));
  EXPECT_EQ(j["response"]["patchType"], "JSONPatch");
  json patch = json::parse(testing::DecodeBase64(j["response"]["patch"].get<std::string>()));
  EXPECT_EQ(patch,
            json::parse(R"([{"op":"add","path":"/metadata/annotations/backstop.dev~1x","value":"1"},
                                   {"op":"remove","path":"/spec/x"}])"));
  // The patch really applies where it should (independent RFC 6902 implementation).
  json doc = {{"metadata", {{"annotations", json::object()}}}, {"spec", {{"x", 1}, {"y", 2}}}};
  json patched = doc.patch(patch);
  EXPECT_EQ(patched["metadata"]["annotations"]["backstop.dev/x"], "1");
  EXPECT_FALSE(patched["spec"].contains("x"));
  // A validating answer never carries a patch.
  json v = json::parse(EncodeAdmissionResponse("admission.k8s.io/v1", "u", d, false));
  EXPECT_FALSE(v["response"].contains("patch"));
  EXPECT_FALSE(v["response"].contains("patchType"));
  // Nor does a denial.
  auto denied = d;
  denied.Merge(policy::Decision::Denied("r", "no"));
  json dj = json::parse(EncodeAdmissionResponse("admission.k8s.io/v1", "u", denied, true));
  EXPECT_FALSE(dj["response"].contains("patch"));
}

TEST(CodecEncode, ShapeMatchesDocumentedResponses) {
  BACKSTOP_REQUIRE_FIXTURES();
  json documented = json::parse(ReadFixture("admission/k8s-docs_v1_response_forbid_status.json"));
  auto d = policy::Decision::Denied("r", documented["response"]["status"]["message"], 403);
  json ours = json::parse(EncodeAdmissionResponse(
      "admission.k8s.io/v1", documented["response"]["uid"].get<std::string>(), d, false));
  EXPECT_EQ(ours["apiVersion"], documented["apiVersion"]);
  EXPECT_EQ(ours["kind"], documented["kind"]);
  EXPECT_EQ(ours["response"]["uid"], documented["response"]["uid"]);
  EXPECT_EQ(ours["response"]["allowed"], documented["response"]["allowed"]);
  EXPECT_EQ(ours["response"]["status"]["code"], documented["response"]["status"]["code"]);
  EXPECT_EQ(ours["response"]["status"]["message"], documented["response"]["status"]["message"]);

  json warn_doc = json::parse(ReadFixture("admission/k8s-docs_v1_response_warnings.json"));
  auto w = policy::Decision::Allowed();
  for (const auto& s : warn_doc["response"]["warnings"]) w.WithWarning(s.get<std::string>());
  json warn_ours = json::parse(EncodeAdmissionResponse("admission.k8s.io/v1", "u", w, false));
  EXPECT_EQ(warn_ours["response"]["warnings"], warn_doc["response"]["warnings"]);
}

TEST(CodecEncode, AuditAnnotations) {
  auto d = policy::Decision::Allowed();
  d.WithAuditAnnotation("rule", "image.never-pull-absent");
  json j = json::parse(EncodeAdmissionResponse("admission.k8s.io/v1", "u", d, false));
  EXPECT_EQ(j["response"]["auditAnnotations"]["rule"], "image.never-pull-absent");
}

TEST(CodecWarnings, Sanitised) {
  std::string long_one(300, 'a');
  auto out = SanitizeWarnings({"Warning: strip me", "line\nbreak", long_one, ""});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], "strip me");
  EXPECT_EQ(out[1], "line break");
  EXPECT_EQ(out[2].size(), 256u);
}

TEST(CodecWarnings, CutOnUtf8Boundary) {
  std::string s(255, 'a');
  s += "\xC3\xA9";  // é straddles byte 256
  auto out = SanitizeWarnings({s});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 255u);
}

TEST(CodecWarnings, TotalBudgetKept) {
  std::vector<std::string> many(40, std::string(200, 'w'));
  auto out = SanitizeWarnings(many);
  size_t total = 0;
  for (const auto& w : out) total += w.size();
  EXPECT_LT(total, 4096u);
  EXPECT_LT(out.size(), many.size());
  EXPECT_NE(out.back().find("more warning(s) left out"), std::string::npos);
}

TEST(CodecStatus, StatusBody) {
  json j = json::parse(EncodeStatus(413, "RequestEntityTooLarge", "too big"));
  EXPECT_EQ(j["kind"], "Status");
  EXPECT_EQ(j["code"], 413);
  EXPECT_EQ(j["reason"], "RequestEntityTooLarge");
  EXPECT_EQ(j["message"], "too big");
}

}  // namespace
}  // namespace backstop::webhook
