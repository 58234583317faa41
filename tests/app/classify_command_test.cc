#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/fixtures.h"
#include "tests/support/test_certs.h"

namespace backstop {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string Slurp(const std::filesystem::path& p) {
  std::string s;
  if (FILE* f = std::fopen(p.c_str(), "rb")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
    std::fclose(f);
  }
  return s;
}

// Runs the built binary with `args` (already shell-quoted where needed).
RunResult RunBackstop(const std::string& args) {
  testing::TempDir dir;
  const auto out = dir.path() / "out";
  const auto err = dir.path() / "err";
  const std::string cmd = std::string("'") + BACKSTOP_BINARY + "' " + args + " >'" + out.string() +
                          "' 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

std::string Quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

TEST(ClassifyCommand, TextForOneFixturePod) {
  BACKSTOP_REQUIRE_FIXTURES();
  auto r = RunBackstop("classify -f " +
                       Quote(testing::Fixture("pods/gitops-engine_pod-crashloop.yaml")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Pod argocd/my-pod on node minikube (Running):"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("CrashLoopBackOff transient regular container main image alpine:latest"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(ClassifyCommand, JsonForAPodList) {
  BACKSTOP_REQUIRE_FIXTURES();
  auto r = RunBackstop(
      "classify -o json -f " +
      Quote(testing::Fixture("pods/miq-openshift3_podlist_22pods_createcontainererror.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 22u);
  int failing = 0;
  for (const auto& pod : j) {
    EXPECT_EQ(pod["kind"], "Pod");
    for (const auto& f : pod["findings"]) {
      ++failing;
      EXPECT_EQ(f["reason"], "CreateContainerError");
      EXPECT_EQ(f["terminal"], false);
      EXPECT_EQ(f["containerKind"], "regular");
      EXPECT_EQ(f["container"], "my-container");
      EXPECT_EQ(f["node"], "localhost");
      EXPECT_EQ(f["imageMissingFromRegistry"], false);
    }
  }
  EXPECT_EQ(failing, 3);
}

TEST(ClassifyCommand, MultiDocumentYamlWithPodsAndJobs) {
  BACKSTOP_REQUIRE_FIXTURES();
  testing::TempDir dir;
  const auto file = dir.Write(
      "mixed.yaml", testing::ReadFixture("pods/gitops-engine_pod-imagepullbackoff.yaml") +
                        "\n---\n" + testing::ReadFixture("jobs/gitops-engine_job-failed.yaml") +
                        "\n---\n" + testing::ReadFixture("pods/gitops-engine_pod-succeeded.yaml"));
  auto r = RunBackstop("classify -o json -f " + Quote(file));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["findings"][0]["reason"], "ImagePullBackOff");
  EXPECT_EQ(j[0]["findings"][0]["image"], "gcr.io/heptio-images/ks-guestbook-demo:0.3");
  EXPECT_EQ(j[1]["kind"], "Job");
  EXPECT_EQ(j[1]["findings"][0]["reason"], "BackoffLimitExceeded");
  EXPECT_EQ(j[1]["findings"][0]["terminal"], true);
  EXPECT_TRUE(j[2]["findings"].empty());

  auto text = RunBackstop("classify -f " + Quote(file));
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("Pod argocd/my-pod on node minikube (Succeeded): no failure"),
            std::string::npos)
      << text.out;
}

TEST(ClassifyCommand, BadInputExitsTwoNamingFileAndDocument) {
  BACKSTOP_REQUIRE_FIXTURES();
  testing::TempDir dir;
  const auto file = dir.Write(
      "mixed.yaml", testing::ReadFixture("pods/gitops-engine_pod-crashloop.yaml") + "\n---\n" +
                        testing::ReadFixture("nodes/nto-mustgather_sno.yaml"));
  auto r = RunBackstop("classify -f " + Quote(file));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  // The node fixture starts with its own "---": the empty document between counts.
  EXPECT_NE(r.err.find("mixed.yaml: document 3 (line 90)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kind Node is not a Pod"), std::string::npos) << r.err;

  const auto broken = dir.Write("broken.json", "{\"kind\": \"Pod\",");
  r = RunBackstop("classify -f " + Quote(broken));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broken.json"), std::string::npos) << r.err;

  r = RunBackstop("classify -f " + Quote(dir.path() / "absent.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("absent.yaml: cannot open"), std::string::npos) << r.err;

  r = RunBackstop("classify -o xml -f " + Quote(broken));
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace backstop
