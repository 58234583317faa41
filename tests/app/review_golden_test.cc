// Golden tests of `backstop review -o json` over the bundled examples and selected
// fixtures: the real binary's output must equal tests/app/golden/<case>.jsonl byte for byte.
//
// The golden files are assertions, not snapshots to accept blindly. After a deliberate
// change of policy or output, regenerate them with
//
//   BACKSTOP_UPDATE_GOLDEN=1 ./app_tests --gtest_filter='ReviewGolden*'
//
// (the test then rewrites the files in the source tree instead of comparing), and read
// the diff: every decision in it must be the one the policy is meant to make.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/fixtures.h"
#include "tests/support/subprocess.h"

namespace backstop::app {
namespace {

using backstop::testing::FixturesDir;
using backstop::testing::ProcessResult;
using backstop::testing::RunProcess;
using backstop::testing::SourceDir;

struct GoldenCase {
  std::string name;               // tests/app/golden/<name>.jsonl
  bool in_fixtures;               // run from the fixtures folder (else the source tree)
  std::vector<std::string> args;  // after "review -o json"
  int exit_code;                  // 1 when something is denied
};

// Shown by gtest in place of the struct's bytes.
void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

// The examples by name (not the folder), so that a new example does not change old cases.
std::vector<std::string> Examples(std::vector<std::string> extra) {
  for (const char* name :
       {"executor-config-below-floors.yaml", "job-without-deadline.yaml",
        "pod-never-pull-missing.yaml", "taskspawner-loops-forever.yaml", "taskspawner-safe.yaml"}) {
    extra.insert(extra.end(), {"-f", std::string("examples/") + name});
  }
  return extra;
}

std::vector<GoldenCase> Cases() {
  return {
      // Every example against the bundled snapshot of a kind cluster: the Config below the
      // executor's floors and the never-pull Pod are denied, the Job is mutated, the looping
      // TaskSpawner is warned about, the safe one passes.
      {"examples-cluster-state", false,
       Examples({"--cluster-state", "examples/cluster-state.json"}), 1},
      // Without cluster knowledge nothing is known about images: the Pod is allowed.
      {"examples-no-knowledge",
       false,
       {"-f", "examples/pod-never-pull-missing.yaml", "-f", "examples/job-without-deadline.yaml",
        "-f", "examples/taskspawner-safe.yaml"},
       0},
      // A real 9-node NodeList whose complete image lists lack the image, but no failure
      // was seen: the lists lag, so the never-pull Pod is only warned about.
      {"examples-fixture-nodelist",
       false,
       {"-f", "examples/pod-never-pull-missing.yaml", "--cluster-state",
        "{fixtures}/nodes/miq-openshift_nodelist_9nodes_images.json"},
       0},
      // UPDATE of unchanged objects: ratcheting allows the Config (with warnings), the Pod's
      // images were already in the old object, the Job is not mutated again.
      {"examples-update", false,
       Examples({"--operation", "UPDATE", "--cluster-state", "examples/cluster-state.json"}), 0},
      // AdmissionReviews (v1, v1beta1, bare requests) used as they are.
      {"fixtures-admission",
       true,
       {"-f", "admission/kube-rs_gke_v1_pod_create_wire.json", "-f",
        "admission/kubewarden-user-group_job_create.json", "-f",
        "admission/kwctl_v1_review_privileged_pod_create.json", "-f",
        "admission/linkerd_v1beta1_deployment_create_request.json", "-f",
        "admission/kubewarden-echo_deployment_update.json", "-f",
        "admission/kubewarden-pod-privileged_req_delete.json"},
       0},
      // Fixture Jobs get a deadline and explicit pull policies.
      {"fixtures-jobs",
       true,
       {"-f", "jobs/gitops-engine_job-failed.yaml", "-f", "jobs/gitops-engine_job-running.yaml",
        "-f", "jobs/k9s_job.json"},
       0},
      // Fixture pods against a real 9-node NodeList with image lists.
      {"fixtures-pods-nodelist",
       true,
       {"-f", "pods/gitops-engine_pod-imagepullbackoff.yaml", "-f", "pods/k9s_po_init.json", "-f",
        "pods/k9s_po_sidecar.json", "--cluster-state",
        "nodes/miq-openshift_nodelist_9nodes_images.json"},
       0},
  };
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ReviewGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(ReviewGolden, MatchesGoldenFile) {
  const GoldenCase& c = GetParam();
  bool needs_fixtures = c.in_fixtures;
  for (const auto& a : c.args) needs_fixtures = needs_fixtures || a.find("{fixtures}") == 0;
  if (needs_fixtures) BACKSTOP_REQUIRE_FIXTURES();
  const std::filesystem::path cwd = c.in_fixtures ? FixturesDir() : SourceDir();
  std::vector<std::string> argv = {
      "/bin/sh", "-c",  "cd \"$0\" && exec \"$@\"", cwd.string(), BACKSTOP_BINARY, "review",
      "-o",      "json"};
  for (std::string a : c.args) {
    // "{fixtures}" stands for the fixtures folder (a path that is not printed).
    if (a.find("{fixtures}") == 0) a = FixturesDir().string() + a.substr(10);
    argv.push_back(a);
  }
  ProcessResult r = RunProcess(argv);
  ASSERT_EQ(r.exit_code, c.exit_code) << r.err;
  EXPECT_EQ(r.err, "");
  // Every line is one JSON record.
  std::istringstream lines(r.out);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    ++n;
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    ASSERT_TRUE(j.is_object()) << line;
  }
  ASSERT_GT(n, 0u);

  const auto golden = SourceDir() / "tests" / "app" / "golden" / (c.name + ".jsonl");
  const char* update = std::getenv("BACKSTOP_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream out(golden, std::ios::binary | std::ios::trunc);
    out << r.out;
    ASSERT_TRUE(out.good()) << "cannot write " << golden;
    GTEST_SKIP() << "rewrote " << golden;
  }
  ASSERT_TRUE(std::filesystem::exists(golden))
      << golden << " is missing; run with BACKSTOP_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(r.out, ReadAll(golden)) << "differs from " << golden;
}

INSTANTIATE_TEST_SUITE_P(Cases, ReviewGolden, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& param) {
                           std::string name;
                           for (char ch : param.param.name) name += ch == '-' ? '_' : ch;
                           return name;
                         });

}  // namespace
}  // namespace backstop::app
