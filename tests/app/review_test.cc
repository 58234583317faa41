// `backstop review`: the request it builds, its command line (the real binary), and that
// its answers are the ones the HTTPS server gives for the same AdmissionReviews.
#include "app/review.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "app/config_file.h"
#include "app/decider.h"
#include "app/documents.h"
#include "base/json_util.h"
#include "obs/metrics.h"
#include "tests/support/base64.h"
#include "tests/support/fixtures.h"
#include "tests/support/served_policy.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"
#include "tests/support/tls_client.h"
#include "webhook/admission_service.h"
#include "webhook/server.h"

namespace backstop::app {
namespace {

using backstop::testing::BodyOf;
using backstop::testing::Fixture;
using backstop::testing::FixturesDir;
using backstop::testing::HttpPost;
using backstop::testing::ProcessResult;
using backstop::testing::RunBackstop;
using backstop::testing::RunProcess;
using backstop::testing::ServedPolicy;
using backstop::testing::SourceDir;
using backstop::testing::StatusOf;
using backstop::testing::TempDir;
using backstop::testing::TestCa;
using backstop::testing::TlsConnection;
using nlohmann::json;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The binary run from `dir`, so that sources are printed relative to it.
ProcessResult RunIn(const std::filesystem::path& dir, const std::vector<std::string>& args,
                    const std::string& input = "") {
  std::vector<std::string> argv = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", dir.string(),
                                   BACKSTOP_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, input);
}

std::vector<json> JsonLines(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  return lines;
}

json ParseReview(const rapidjson::Value& object, RequestOptions options = {}) {
  auto review = BuildAdmissionReview(object, "seed#1", options);
  EXPECT_TRUE(review.ok()) << review.status().message();
  return review.ok() ? json::parse(*review) : json();
}

rapidjson::Document Doc(const char* text) {
  rapidjson::Document d;
  d.Parse(text);
  return d;
}

// ---- how a manifest becomes a request ----

TEST(ReviewRequest, ManifestBecomesAV1CreateReview) {
  auto job = Doc(R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"t"},"spec":{}})");
  json r = ParseReview(job);
  EXPECT_EQ(r["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(r["kind"], "AdmissionReview");
  const json& q = r["request"];
  EXPECT_EQ(q["uid"], ReviewUid("seed#1"));
  EXPECT_EQ(q["kind"], json({{"group", "batch"}, {"version", "v1"}, {"kind", "Job"}}));
  EXPECT_EQ(q["resource"], json({{"group", "batch"}, {"version", "v1"}, {"resource", "jobs"}}));
  EXPECT_EQ(q["name"], "t");
  EXPECT_EQ(q["namespace"], "default");
  EXPECT_EQ(q["operation"], "CREATE");
  EXPECT_EQ(q["userInfo"]["username"], "backstop-review");
  // The apiserver fills the namespace in before admission.
  EXPECT_EQ(q["object"]["metadata"]["namespace"], "default");
  EXPECT_FALSE(q.contains("oldObject"));
}

TEST(ReviewRequest, ResourcesAreGuessedAsApimachineryDoes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"v1|Pod", "pods"},
      {"batch/v1|CronJob", "cronjobs"},
      {"kelos.dev/v1alpha2|TaskSpawner", "taskspawners"},
      {"agent.benjamin-borbe.de/v1|Config", "configs"},
      {"networking.k8s.io/v1|Ingress", "ingresses"},
      {"networking.k8s.io/v1|NetworkPolicy", "networkpolicies"},
      {"apps/v1|Deployment", "deployments"}};
  for (const auto& [gvk, resource] : cases) {
    const std::string api = gvk.substr(0, gvk.find('|'));
    const std::string kind = gvk.substr(gvk.find('|') + 1);
    auto d = Doc(("{\"apiVersion\":\"" + api + "\",\"kind\":\"" + kind +
                  "\",\"metadata\":{\"name\":\"x\",\"namespace\":\"ns\"}}")
                     .c_str());
    json r = ParseReview(d);
    EXPECT_EQ(r["request"]["resource"]["resource"], resource) << gvk;
    EXPECT_EQ(r["request"]["namespace"], "ns") << gvk;
  }
}

TEST(ReviewRequest, UpdateCarriesTheSameObjectAsOldObject) {
  auto pod = Doc(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"}})");
  RequestOptions options;
  options.operation = policy::Operation::kUpdate;
  json r = ParseReview(pod, options);
  EXPECT_EQ(r["request"]["operation"], "UPDATE");
  EXPECT_EQ(r["request"]["oldObject"], r["request"]["object"]);
  EXPECT_EQ(r["request"]["resource"]["group"], "");
}

TEST(ReviewRequest, MissingKindOrApiVersionIsAnError) {
  auto no_kind = Doc(R"({"apiVersion":"v1","metadata":{"name":"p"}})");
  auto r = BuildAdmissionReview(no_kind, "s", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "missing kind");
  auto no_api = Doc(R"({"kind":"Pod"})");
  r = BuildAdmissionReview(no_api, "s", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "missing apiVersion");
  auto bad_name = Doc(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":7}})");
  r = BuildAdmissionReview(bad_name, "s", {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "metadata.name must be a string"))
      << r.status().message();
}

TEST(ReviewRequest, UidsAreStablePerSourceAndDocument) {
  EXPECT_EQ(ReviewUid("a.yaml#1"), ReviewUid("a.yaml#1"));
  EXPECT_NE(ReviewUid("a.yaml#1"), ReviewUid("a.yaml#2"));
  EXPECT_EQ(ReviewUid("a.yaml#1").size(), 36u);
}

TEST(ReviewPatch, AppliesAndReportsFailures) {
  auto ok = ApplyJsonPatch(R"({"spec":{}})",
                           R"([{"op":"add","path":"/spec/activeDeadlineSeconds","value":1800}])");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(json::parse(*ok), json::parse(R"({"spec":{"activeDeadlineSeconds":1800}})"));
  auto bad = ApplyJsonPatch(R"({"spec":{}})", R"([{"op":"replace","path":"/nope/x","value":1}])");
  EXPECT_FALSE(bad.ok());
}

// ---- the command line ----

TEST(ReviewCli, MissingFileIsAnInputError) {
  ProcessResult r = RunBackstop({"review", "-f", "/nonexistent/x.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "/nonexistent/x.yaml: cannot open")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ReviewCli, InvalidYamlNamesTheLine) {
  TempDir dir;
  auto file = dir.Write("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n");
  ProcessResult r = RunBackstop({"review", "-f", file.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, file.string() + ":")) << r.err;
  EXPECT_TRUE(Contains(r.err, "invalid YAML")) << r.err;
}

TEST(ReviewCli, DocumentWithoutKindNamesDocumentAndLine) {
  TempDir dir;
  auto file = dir.Write("two.yaml",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# second\n"
                        "apiVersion: v1\nmetadata: {name: b}\n");
  ProcessResult r = RunBackstop({"review", "-f", file.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, file.string() + ": document 2 (line 6): missing kind")) << r.err;
  EXPECT_EQ(r.out, "");  // nothing is reviewed when an input is bad
}

TEST(ReviewCli, UsageErrors) {
  ProcessResult r = RunIn(
      SourceDir(), {"review", "-f", "examples/taskspawner-safe.yaml", "--operation", "DELETE"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "--operation must be CREATE or UPDATE, got \"DELETE\"")) << r.err;
  r = RunBackstop({"review"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "-f is required")) << r.err;
  r = RunIn(SourceDir(), {"review", "-f", "examples/taskspawner-safe.yaml", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "-o must be text or json")) << r.err;
  r = RunIn(SourceDir(), {"review", "-f", "examples/taskspawner-safe.yaml", "--cluster-state",
                          "/nonexistent/state.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "--cluster-state /nonexistent/state.json: cannot open")) << r.err;
}

TEST(ReviewCli, AnAdmissionReviewWithoutRequestIsAnInputError) {
  BACKSTOP_REQUIRE_FIXTURES();
  ProcessResult r =
      RunIn(FixturesDir(), {"review", "-f", "admission/k8s-docs_v1_response_patch.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err,
                       "admission/k8s-docs_v1_response_patch.json: document 1 (line 1): "
                       "request: is required"))
      << r.err;
}

TEST(ReviewCli, ListsAreReviewedItemByItem) {
  BACKSTOP_REQUIRE_FIXTURES();
  // A PodList as the API returns it: items carry no kind or apiVersion.
  ProcessResult r =
      RunIn(FixturesDir(), {"review", "-o", "json", "-f",
                            "pods/miq-openshift3_podlist_22pods_createcontainererror.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = JsonLines(r.out);
  ASSERT_EQ(records.size(), 22u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i]["item"], i);
    EXPECT_EQ(records[i]["kind"], "Pod");
    EXPECT_EQ(records[i]["document"], 1);
  }
  EXPECT_EQ(records[3]["namespace"], "kube-dns");

  // A kind: List mixing examples, as `kubectl get -o yaml` writes them.
  TempDir dir;
  std::string list = "apiVersion: v1\nkind: List\nitems:\n";
  for (const char* name : {"taskspawner-loops-forever.yaml", "executor-config-below-floors.yaml"}) {
    auto docs = LoadDocuments((SourceDir() / "examples" / name).string());
    ASSERT_TRUE(docs.ok());
    list += "- " + ToJson(*(*docs)[0].json) + "\n";
  }
  auto file = dir.Write("list.yaml", list);
  r = RunBackstop({"review", "-o", "json", "-f", file.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the Config is denied
  records = JsonLines(r.out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["kind"], "TaskSpawner");
  EXPECT_EQ(records[0]["allowed"], true);
  EXPECT_EQ(records[1]["kind"], "Config");
  EXPECT_EQ(records[1]["item"], 1);
  EXPECT_EQ(records[1]["allowed"], false);
  EXPECT_EQ(records[1]["denied_by"], "validate");
}

TEST(ReviewCli, AdmissionReviewsAreUsedAsTheyAre) {
  BACKSTOP_REQUIRE_FIXTURES();
  ProcessResult r = RunIn(
      FixturesDir(), {"review", "-o", "json", "-f", "admission/kube-rs_gke_v1_pod_create_wire.json",
                      "-f", "admission/kubewarden-user-group_job_create.json", "-f",
                      "admission/kubewarden-echo_deployment_delete.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = JsonLines(r.out);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["kind"], "Pod");
  EXPECT_EQ(records[0]["namespace"], "colin-coder");  // the request's, not "default"
  EXPECT_EQ(records[0]["name"], "echo-pod");
  EXPECT_EQ(records[0]["allowed"], true);
  // A bare AdmissionRequest (kubewarden's form) for a Job: mutated as the server would.
  EXPECT_EQ(records[1]["kind"], "Job");
  EXPECT_EQ(records[1]["mutated"]["spec"]["activeDeadlineSeconds"], 1800);
  EXPECT_FALSE(records[1]["patch"].empty());
  // DELETE is the request's own operation; nothing to decide.
  EXPECT_EQ(records[2]["operation"], "DELETE");
  EXPECT_EQ(records[2]["allowed"], true);
  EXPECT_TRUE(records[2]["mutated"].is_null());
}

TEST(ReviewCli, StandardInput) {
  auto docs = ReadFile((SourceDir() / "examples/executor-config-below-floors.yaml").string());
  ASSERT_TRUE(docs.ok());
  ProcessResult r = RunBackstop({"review", "-f", "-"}, *docs);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.out, "-#1 Config agent/coder: denied by validate (422 Invalid)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "zombieSweeperIntervalSeconds invalid: must be >= 10, got 5"));
  EXPECT_TRUE(Contains(r.out, "1 object: 0 allowed, 1 denied, 0 with warnings")) << r.out;
}

TEST(ReviewCli, WarningsAsErrors) {
  const std::vector<std::string> args = {"review", "-f", "examples/taskspawner-loops-forever.yaml"};
  ProcessResult r = RunIn(SourceDir(), args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "  warning: githubIssues: a failing item is recreated every"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "1 object: 1 allowed, 0 denied, 1 with warnings")) << r.out;
  auto strict = args;
  strict.push_back("--warnings-as-errors");
  r = RunIn(SourceDir(), strict);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // A clean object stays 0.
  r = RunIn(SourceDir(),
            {"review", "-f", "examples/taskspawner-safe.yaml", "--warnings-as-errors"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(ReviewCli, UpdateRatchetsUnchangedFields) {
  // CREATE denies the Config below the executor's floors; an UPDATE that leaves the
  // fields as they were is allowed with warnings (the old object already had them).
  const std::vector<std::string> args = {"review", "-o", "json", "-f",
                                         "examples/executor-config-below-floors.yaml"};
  ProcessResult create = RunIn(SourceDir(), args);
  EXPECT_EQ(create.exit_code, 1);
  auto update_args = args;
  update_args.insert(update_args.end(), {"--operation", "UPDATE"});
  ProcessResult update = RunIn(SourceDir(), update_args);
  EXPECT_EQ(update.exit_code, 0) << update.err;
  auto records = JsonLines(update.out);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["operation"], "UPDATE");
  EXPECT_EQ(records[0]["allowed"], true);
  ASSERT_EQ(records[0]["warnings"].size(), 2u);
  EXPECT_TRUE(Contains(records[0]["warnings"][0], "(unchanged, allowed)"));
}

TEST(ReviewCli, ClusterStateDeniesNeverPullImageKnownAbsent) {
  const std::vector<std::string> base = {"review", "-o", "json", "-f",
                                         "examples/pod-never-pull-missing.yaml"};
  ProcessResult unknown = RunIn(SourceDir(), base);
  EXPECT_EQ(unknown.exit_code, 0) << unknown.err;  // nothing known: allowed
  auto with_state = base;
  with_state.insert(with_state.end(), {"--cluster-state", "examples/cluster-state.json"});
  ProcessResult r = RunIn(SourceDir(), with_state);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto records = JsonLines(r.out);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["denied_by"], "validate");
  EXPECT_EQ(records[0]["rule"], "image.never-pull-absent");
  EXPECT_EQ(records[0]["code"], 403);
  const std::string message = records[0]["message"];
  EXPECT_TRUE(Contains(message,
                       "Container image \"optio-node:latest\" is not present with pull "
                       "policy of Never"))
      << message;
  EXPECT_TRUE(Contains(message, "ErrImageNeverPull on optio-worker")) << message;
  EXPECT_TRUE(Contains(message, "3 of 3 eligible nodes lack it")) << message;
}

TEST(ReviewCli, DirectoryIsReadSortedAndSkipsTheClusterStateFile) {
  ProcessResult r = RunIn(SourceDir(), {"review", "-o", "json", "-f", "examples", "--cluster-state",
                                        "examples/cluster-state.json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto records = JsonLines(r.out);
  ASSERT_GE(records.size(), 5u);
  std::vector<std::string> sources;
  for (const auto& rec : records) {
    sources.push_back(rec["source"]);
    EXPECT_NE(rec["source"], "examples/cluster-state.json");
  }
  EXPECT_TRUE(std::is_sorted(sources.begin(), sources.end()));
}

// ---- one code path: the HTTPS server answers the same ----

// What the apiserver would conclude from the server's two answers.
json ServerVerdict(ServedPolicy& server, const ReviewInput& input) {
  json body = json::parse(input.review);
  if (input.bare) {  // the server takes AdmissionReviews only
    body = {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", body}};
  }
  json verdict = {{"allowed", true},        {"denied_by", nullptr}, {"code", 200},
                  {"reason", ""},           {"message", ""},        {"warnings", json::array()},
                  {"patch", json::array()}, {"mutated", nullptr}};
  auto take = [&](const json& response, const char* by) {
    for (const auto& w : response.value("warnings", json::array()))
      verdict["warnings"].push_back(w);
    if (response["allowed"] == true) return true;
    verdict["allowed"] = false;
    verdict["denied_by"] = by;
    verdict["code"] = response["status"]["code"];
    verdict["reason"] = response["status"].value("reason", "");
    verdict["message"] = response["status"].value("message", "");
    return false;
  };
  json mutate = server.Post("/mutate", body.dump())["response"];
  if (!take(mutate, "mutate")) return verdict;
  if (mutate.contains("patch")) {
    EXPECT_EQ(mutate["patchType"], "JSONPatch");
    verdict["patch"] = json::parse(testing::DecodeBase64(mutate["patch"].get<std::string>()));
    verdict["mutated"] = body["request"]["object"].patch(verdict["patch"]);
    body["request"]["object"] = verdict["mutated"];
  }
  json validate = server.Post("/validate", body.dump())["response"];
  EXPECT_FALSE(validate.contains("patch"));
  take(validate, "validate");
  return verdict;
}

void ExpectSameAnswers(const std::filesystem::path& cwd, const std::vector<std::string>& files,
                       const std::string& cluster_state, const std::string& operation) {
  SCOPED_TRACE("operation " + operation + (cluster_state.empty() ? "" : " with cluster state"));
  std::vector<std::string> args = {"review", "-o", "json", "--operation", operation};
  for (const auto& f : files) args.insert(args.end(), {"-f", f});
  if (!cluster_state.empty()) args.insert(args.end(), {"--cluster-state", cluster_state});
  ProcessResult r = RunIn(cwd, args);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  auto records = JsonLines(r.out);

  // The same AdmissionReviews, built in-process from the same files.
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back((cwd / f).string());
  RequestOptions options;
  options.operation = policy::ParseOperation(operation);
  std::vector<std::string> skip;
  if (!cluster_state.empty()) skip.push_back((cwd / cluster_state).string());
  auto inputs = CollectReviewInputs(paths, skip, options);
  ASSERT_TRUE(inputs.ok()) << inputs.status().message();
  ASSERT_EQ(inputs->size(), records.size());

  auto config = LoadConfig("");
  ASSERT_TRUE(config.ok());
  const policy::TimePoint now = policy::Clock::now();
  DecisionInputs decision_inputs{config->policy, std::make_shared<const policy::ClusterFacts>(),
                                 now, now};
  if (!cluster_state.empty()) {
    auto facts = LoadClusterState((cwd / cluster_state).string(), watcher::KnowledgeOptions{}, now);
    ASSERT_TRUE(facts.ok()) << facts.status().message();
    decision_inputs.facts = *facts;
  }
  ServedPolicy server(decision_inputs);
  size_t denied = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const ReviewInput& input = (*inputs)[i];
    SCOPED_TRACE(input.Where());
    json verdict = ServerVerdict(server, input);
    json record = records[i];
    for (const char* field :
         {"allowed", "denied_by", "code", "reason", "message", "warnings", "patch", "mutated"}) {
      EXPECT_EQ(record[field], verdict[field]) << field;
    }
    denied += verdict["allowed"] == false ? 1 : 0;
  }
  EXPECT_EQ(r.exit_code, denied > 0 ? 1 : 0);
}

TEST(ReviewOneCodePath, ExamplesGetTheServersAnswers) {
  const std::vector<std::string> examples = {
      "examples/executor-config-below-floors.yaml", "examples/job-without-deadline.yaml",
      "examples/pod-never-pull-missing.yaml", "examples/taskspawner-loops-forever.yaml",
      "examples/taskspawner-safe.yaml"};
  for (const char* op : {"CREATE", "UPDATE"}) {
    ExpectSameAnswers(SourceDir(), examples, "examples/cluster-state.json", op);
    ExpectSameAnswers(SourceDir(), examples, "", op);
  }
}

TEST(ReviewOneCodePath, ExamplesAgainstAFixtureNodeListGetTheServersAnswers) {
  BACKSTOP_REQUIRE_FIXTURES();
  // Complete image lists lacking the image, no failure seen: a warning, on both paths.
  ExpectSameAnswers(SourceDir(), {"examples/pod-never-pull-missing.yaml"},
                    Fixture("nodes/miq-openshift_nodelist_9nodes_images.json").string(), "CREATE");
}

TEST(ReviewOneCodePath, FixturesGetTheServersAnswers) {
  BACKSTOP_REQUIRE_FIXTURES();
  const std::vector<std::string> files = {
      "admission/kube-rs_gke_v1_pod_create_wire.json",
      "admission/kubewarden-user-group_job_create.json",
      "admission/kwctl_v1_review_privileged_pod_create.json",
      "admission/linkerd_v1beta1_deployment_create_request.json",
      "admission/kubewarden-echo_deployment_update.json",
      "admission/kubewarden-pod-privileged_req_delete.json",
      "jobs/gitops-engine_job-failed.yaml",
      "jobs/k9s_job.json",
      "pods/gitops-engine_pod-imagepullbackoff.yaml",
      "pods/k9s_po_init.json",
  };
  ExpectSameAnswers(FixturesDir(), files, "", "CREATE");
  ExpectSameAnswers(FixturesDir(), files, "nodes/miq-openshift_nodelist_9nodes_images.json",
                    "CREATE");
}

}  // namespace
}  // namespace backstop::app
