// Differential test of the JSON Patches backstop produces: every patch the mutating path
// (app::ReviewOne -> app::Decide -> policy::Mutate) gives for the fixtures and for
// generated Jobs and CronJobs is applied by github.com/evanphx/json-patch (what
// kube-apiserver applies a mutating webhook's patch with; Debian's
// golang-github-evanphx-json-patch-dev, tests/oracles/json_patch) to the object the
// apiserver sent, and the result must equal (as JSON values) the object backstop itself
// patched (app::ApplyJsonPatch) and then validated. There are no accepted differences.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "app/decider.h"
#include "app/documents.h"
#include "app/review.h"
#include "base/json_util.h"
#include "policy/config.h"
#include "tests/support/fixtures.h"
#include "tests/support/oracle.h"

namespace backstop::app {
namespace {

using backstop::testing::CorpusDivisor;
using backstop::testing::Fixture;
using backstop::testing::FixturesAvailable;
using backstop::testing::HexDecode;
using backstop::testing::RunOracle;
using backstop::testing::SourceDir;
using nlohmann::json;

constexpr uint64_t kSeed = 0x9a7c4ULL;

// ---- configurations: the defaults and the knobs that shape patches ----

std::shared_ptr<const policy::PolicyConfig> Config(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  auto config = policy::ParsePolicyConfig(doc);
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.status().message());
  return std::make_shared<const policy::PolicyConfig>(config.ok() ? *config
                                                                  : policy::PolicyConfig{});
}

std::vector<std::shared_ptr<const policy::PolicyConfig>> Configs() {
  return {
      Config("{}"),
      Config(R"({"jobs":{"maxActiveDeadlineSeconds":3600,"aboveMax":"clamp",
                 "rules":[{"namespaces":["ci"],"matchLabels":{"tier":"batch"},
                           "activeDeadlineSeconds":900}]}})"),
      Config(R"({"jobs":{"setImagePullPolicy":false,"defaultActiveDeadlineSeconds":60}})"),
      Config(R"({"jobs":{"setActiveDeadlineSeconds":false}})"),
  };
}

// ---- generated Jobs and CronJobs ----

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Below(100) < static_cast<size_t>(percent); }
  template <typename T>
  T Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

  json Container(const std::string& name) {
    json c = {{"name", name}};
    if (!Chance(5)) {
      c["image"] = Pick<std::string>(
          {"nginx", "nginx:latest", "nginx:1.25", "ghcr.io/example/agent:v1",
           "registry.local:5000/agent",
           "busybox@sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa",
           "busybox:latest@sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa",
           "Nginx", "", "localhost/a~b", "[::1]:5000/x:latest"});
    }
    switch (Below(7)) {
      case 0:
        c["imagePullPolicy"] = "";
        break;
      case 1:
        c["imagePullPolicy"] = nullptr;
        break;
      case 2:
        c["imagePullPolicy"] = Pick<std::string>({"Always", "Never", "IfNotPresent"});
        break;
      case 3:
        c["imagePullPolicy"] = 7;
        break;
      default:
        break;  // absent
    }
    if (Chance(20)) c["args"] = {"run", "--path=/a~b/c", "~0", "~1"};
    return c;
  }

  json Containers(const std::string& prefix) {
    if (Chance(3)) return nullptr;
    if (Chance(2)) return "not-a-list";
    json list = json::array();
    const size_t n = Below(4);
    for (size_t i = 0; i < n; ++i) {
      if (Chance(3)) {
        list.push_back(Chance(50) ? json(nullptr) : json("x"));
      } else {
        list.push_back(Container(prefix + std::to_string(i)));
      }
    }
    return list;
  }

  json Annotations() {
    static const std::vector<std::string> kKeys = {"a/b",
                                                   "a~b",
                                                   "~1",
                                                   "~0",
                                                   "/",
                                                   "~",
                                                   "x~1y/z",
                                                   "",
                                                   "ü/ö",
                                                   "kelos.dev/source-kind",
                                                   "backstop.dev/active-deadline-seconds-source"};
    json a = json::object();
    const size_t n = Below(4);
    for (size_t i = 0; i < n; ++i) a[Pick(kKeys)] = Pick<std::string>({"v", "", "default", "~1"});
    if (Chance(30)) {
      a["backstop.dev/active-deadline-seconds"] =
          Pick<std::string>({"600", "7200", "0", "abc", "99999999999999", " 60", "1e3", ""});
    }
    return a;
  }

  json PodTemplate(const std::vector<json>& pod_specs) {
    switch (Below(20)) {
      case 0:
        return nullptr;
      case 1:
        return json::object();
      case 2:
        return {{"spec", nullptr}};
      default:
        break;
    }
    json spec;
    if (!pod_specs.empty() && Chance(30)) {
      spec = Pick(pod_specs);
    } else {
      spec = {{"restartPolicy", "Never"}};
      if (!Chance(5)) spec["containers"] = Containers("c");
      if (Chance(35)) spec["initContainers"] = Containers("init");
    }
    json t = {{"spec", spec}};
    if (Chance(50)) t["metadata"] = {{"labels", {{"app", "agent"}}}};
    return t;
  }

  json JobSpec(const std::vector<json>& pod_specs) {
    switch (Below(25)) {
      case 0:
        return nullptr;
      case 1:
        return json::object();
      default:
        break;
    }
    json spec = {{"backoffLimit", 1}};
    if (Chance(30))
      spec["activeDeadlineSeconds"] = Pick<json>({json(10), json(7200), json(nullptr)});
    if (Chance(95)) spec["template"] = PodTemplate(pod_specs);
    return spec;
  }

  json Manifest(const std::vector<json>& pod_specs) {
    const bool cron = Chance(30);
    json m = {{"apiVersion", "batch/v1"}, {"kind", cron ? "CronJob" : "Job"}};
    json meta = {{"name", "task-" + std::to_string(Below(100000))}};
    if (Chance(70)) meta["namespace"] = Pick<std::string>({"agents", "ci", "default", "a~b"});
    switch (Below(5)) {
      case 0:
        meta["labels"] = {{"tier", "batch"}};
        break;
      case 1:
        meta["labels"] = nullptr;
        break;
      default:
        break;
    }
    switch (Below(6)) {
      case 0:
        meta["annotations"] = nullptr;
        break;
      case 1:
        meta["annotations"] = json::object();
        break;
      case 2:
      case 3:
        meta["annotations"] = Annotations();
        break;
      default:
        break;
    }
    m["metadata"] = meta;
    json spec = JobSpec(pod_specs);
    if (cron) {
      json cron_spec = {{"schedule", "*/5 * * * *"}};
      switch (Below(20)) {
        case 0:
          cron_spec["jobTemplate"] = nullptr;
          break;
        case 1:
          break;  // no jobTemplate
        default:
          cron_spec["jobTemplate"] = {{"spec", spec}};
      }
      m["spec"] = cron_spec;
    } else if (!spec.is_null() || Chance(50)) {
      m["spec"] = spec;
    }
    return m;
  }

 private:
  std::mt19937_64 rng_;
};

// Pod specs of the pod fixtures, as Job templates.
std::vector<json> FixturePodSpecs() {
  std::vector<json> specs;
  if (!FixturesAvailable()) return specs;
  for (const char* dir : {"pods"}) {
    for (const auto& entry : std::filesystem::directory_iterator(Fixture(dir))) {
      auto docs = LoadDocuments(entry.path().string());
      if (!docs) continue;
      for (const auto& d : *docs) {
        const json j = json::parse(ToJson(*d.json));
        auto add = [&specs](const json& pod) {
          if (pod.is_object() && pod.contains("spec") && pod["spec"].is_object()) {
            json spec = pod["spec"];
            spec.erase("nodeName");
            specs.push_back(spec);
          }
        };
        if (j.contains("items") && j["items"].is_array()) {
          for (const auto& item : j["items"]) add(item);
        } else {
          add(j);
        }
      }
    }
  }
  return specs;
}

// ---- one case: a review, the config it is decided with, backstop's record ----

struct Case {
  std::string where;
  std::string object;   // the object the apiserver sent (JSON)
  std::string patch;    // backstop's patch (a JSON array)
  std::string mutated;  // backstop's patched object
};

struct Tally {
  size_t reviews = 0;
  size_t patched = 0;
  std::map<std::string, size_t> ops;
  size_t escaped_paths = 0;
  std::vector<std::string> disagreements;
};

// Runs ReviewOne and keeps what it patched.
void Collect(const ReviewInput& input, const DecisionInputs& inputs, std::vector<Case>* cases,
             Tally* t) {
  ++t->reviews;
  auto record = ReviewOne(input, inputs);
  if (!record.ok()) return;  // an input the decoder refuses: nothing is patched
  if (record->patch == "[]") return;
  ++t->patched;
  if (record->mutated.empty()) {
    t->disagreements.push_back(input.Where() + ": backstop's own patch did not apply: " +
                               record->message + "\n  patch " + record->patch);
    return;
  }
  const json review = json::parse(input.review);
  const json& object = input.bare ? review["object"] : review["request"]["object"];
  for (const auto& op : json::parse(record->patch)) {
    ++t->ops[op.value("op", "?")];
    const std::string path = op.value("path", "");
    if (path.find('~') != std::string::npos) ++t->escaped_paths;
  }
  cases->push_back({input.Where(), object.dump(), record->patch, record->mutated});
}

TEST(JsonPatchOracle, EvanphxJsonPatchAppliesEveryPatchAsBackstopDoes) {
  const auto configs = Configs();
  const policy::TimePoint now = policy::Clock::now();
  std::vector<Case> cases;
  Tally t;

  // The fixtures and examples as they are, created and updated. Files that are no whole
  // object (a status fragment) are left out.
  std::vector<std::string> files;
  std::vector<std::string> dirs = {(SourceDir() / "examples").string()};
  if (FixturesAvailable()) {
    for (const char* dir : {"jobs", "admission", "pods"}) dirs.push_back(Fixture(dir).string());
  }
  for (const auto& dir : dirs) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string ext = entry.path().extension().string();
      if (ext == ".yaml" || ext == ".json") found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  size_t fixture_reviews = 0;
  size_t files_left_out = 0;
  for (auto operation : {policy::Operation::kCreate, policy::Operation::kUpdate}) {
    RequestOptions options;
    options.operation = operation;
    for (const auto& file : files) {
      if (file.find("cluster-state") != std::string::npos) continue;
      auto inputs = CollectReviewInputs({file}, {}, options);
      if (!inputs.ok()) {
        files_left_out += operation == policy::Operation::kCreate ? 1 : 0;
        continue;
      }
      for (const auto& config : configs) {
        DecisionInputs decision{config, std::make_shared<const policy::ClusterFacts>(), now, now};
        for (const auto& input : *inputs) {
          Collect(input, decision, &cases, &t);
          ++fixture_reviews;
        }
      }
    }
  }
  const size_t fixture_patches = cases.size();

  // Generated Jobs and CronJobs.
  const std::vector<json> pod_specs = FixturePodSpecs();
  Generator g(kSeed);
  const size_t generated = 6000 / CorpusDivisor();
  for (size_t i = 0; i < generated; ++i) {
    const json manifest = g.Manifest(pod_specs);
    rapidjson::Document object;
    object.Parse(manifest.dump().c_str());
    RequestOptions options;
    options.operation = g.Chance(25) ? policy::Operation::kUpdate : policy::Operation::kCreate;
    auto review = BuildAdmissionReview(object, "generated#" + std::to_string(i), options);
    ASSERT_TRUE(review.ok()) << review.status().message();
    ReviewInput input;
    input.source = "generated";
    input.document = static_cast<int>(i + 1);
    input.review = *review;
    DecisionInputs decision{configs[i % configs.size()],
                            std::make_shared<const policy::ClusterFacts>(), now, now};
    Collect(input, decision, &cases, &t);
  }

  // Every patch through evanphx/json-patch, in one batch.
  std::vector<std::string> lines;
  lines.reserve(cases.size());
  for (const auto& c : cases) {
    lines.push_back(R"({"doc":)" + c.object + R"(,"patch":)" + c.patch + "}");
  }
  const auto answers = RunOracle("json_patch", lines);
  ASSERT_TRUE(answers.has_value());
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string& answer = (*answers)[i];
    const Case& c = cases[i];
    if (answer.rfind("ok\t", 0) != 0) {
      const size_t tab = answer.find('\t');
      t.disagreements.push_back(
          c.where + ": evanphx/json-patch refuses backstop's patch: " +
          HexDecode(tab == std::string::npos ? "" : answer.substr(tab + 1)).value_or(answer) +
          "\n  patch " + c.patch);
      continue;
    }
    const json theirs = json::parse(answer.substr(3));
    const json ours = json::parse(c.mutated);
    if (theirs != ours) {
      t.disagreements.push_back(c.where + ": patched objects differ\n  patch " + c.patch +
                                "\n  json-patch: " + theirs.dump() + "\n  backstop:   " +
                                ours.dump() + "\n  diff: " + json::diff(ours, theirs).dump());
    }
  }

  std::cout << "  json_patch oracle: " << t.reviews << " reviews (" << fixture_reviews
            << " of fixtures and examples under " << configs.size()
            << " configurations, created and updated; " << files_left_out
            << " files that hold no object left out; " << generated
            << " generated Jobs and CronJobs, seed 0x" << std::hex << kSeed << std::dec << "), "
            << t.patched << " patched (" << fixture_patches << " of the fixtures), " << cases.size()
            << " patches applied by evanphx/json-patch, " << t.disagreements.size()
            << " disagreements\n  operations:";
  for (const auto& [op, n] : t.ops) std::cout << " " << op << " " << n;
  std::cout << "; paths with ~ escapes " << t.escaped_paths << "\n";
  constexpr size_t kShown = 10;
  for (size_t i = 0; i < t.disagreements.size() && i < kShown; ++i) {
    ADD_FAILURE() << t.disagreements[i];
  }
  EXPECT_EQ(t.disagreements.size(), 0u);
  // The corpus reaches every kind of operation backstop emits.
  EXPECT_GT(t.ops["add"], 0u);
  EXPECT_GT(t.ops["replace"], 0u);
  EXPECT_GT(t.escaped_paths, 0u);
  EXPECT_GT(cases.size(), generated / 3);
  if (FixturesAvailable()) {
    EXPECT_GT(fixture_patches, 0u);
  }
}

}  // namespace
}  // namespace backstop::app
