#include "app/config_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "policy/image_policy.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace backstop::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Every section is read in one pass: problems of rule sections, of the watcher section
// and unknown keys come back together, under one heading naming the file.
TEST(LoadConfigTest, ReportsEveryProblemOfEverySectionAtOnce) {
  testing::TempDir dir;
  const std::string file = dir.Write("bad.yaml",
                                     "jobs:\n"
                                     "  defaultActiveDeadlineSeconds: 0\n"
                                     "watcher:\n"
                                     "  pageSize: 0\n"
                                     "  observationRetentionSeconds: ten\n"
                                     "images:\n"
                                     "  neverPullAbsent: {enforcement: maybe}\n"
                                     "colour: blue\n")
                               .string();
  auto config = LoadConfig(file);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = config.status().message();
  EXPECT_EQ(m.rfind("--config " + file + ": invalid configuration:\n", 0), 0u) << m;
  EXPECT_THAT(m, HasSubstr("\n  jobs.defaultActiveDeadlineSeconds: must be between 1 and"));
  EXPECT_THAT(m, HasSubstr("\n  watcher.pageSize: must be between 1 and 5000, got 0"));
  EXPECT_THAT(m, HasSubstr("\n  watcher.observationRetentionSeconds: must be an integer"));
  EXPECT_THAT(m, HasSubstr("\n  images.neverPullAbsent.enforcement: must be one of"));
  EXPECT_THAT(m, HasSubstr("\n  colour: unknown key"));
}

TEST(LoadConfigTest, RenamedKeysStillWorkWithAWarningAndBothIsAnError) {
  testing::TempDir dir;
  const std::string old_names = dir.Write("old.yaml",
                                          "images:\n  observationTtlSeconds: 900\n"
                                          "watcher:\n  observationTtlSeconds: 120\n")
                                    .string();
  auto config = LoadConfig(old_names);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->policy->Get<policy::ImageOptions>().max_observation_age_seconds, 900);
  EXPECT_EQ(config->knowledge.observation_ttl, std::chrono::seconds(120));
  EXPECT_THAT(config->warnings,
              ElementsAre(old_names + ": images.observationTtlSeconds: is deprecated: rename it "
                                      "to maxObservationAgeSeconds (same meaning)",
                          old_names + ": watcher.observationTtlSeconds: is deprecated: rename it "
                                      "to observationRetentionSeconds (same meaning)"));

  const std::string both = dir.Write("both.yaml",
                                     "images:\n  observationTtlSeconds: 900\n"
                                     "  maxObservationAgeSeconds: 600\n")
                               .string();
  auto rejected = LoadConfig(both);
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(rejected.status().message(),
              HasSubstr("images.observationTtlSeconds: was renamed to maxObservationAgeSeconds, "
                        "which is also set; remove observationTtlSeconds"));
}

TEST(LoadConfigTest, AMissingFileKeepsItsCodeAndNamesTheFile) {
  auto config = LoadConfig("/nonexistent/backstop.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/backstop.yaml"));
}

// serve, watch and review all read the file the same way and exit 2 naming every problem.
TEST(LoadConfigTest, EveryCommandReportsWatcherAndPolicyErrorsTogether) {
  testing::TempDir dir;
  const std::string file =
      dir.Write("bad.yaml", "jobs:\n  aboveMax: sometimes\nwatcher:\n  pageSize: 0\n").string();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"review", "--config", file, "-f", "-"},
        std::vector<std::string>{"watch", "--config", file},
        std::vector<std::string>{"serve", "--config", file, "--tls-cert", file, "--tls-key",
                                 file}}) {
    testing::ProcessResult r = testing::RunBackstop(args, "{}");
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("--config " + file + ": invalid configuration:")) << args[0];
    EXPECT_THAT(r.err, HasSubstr("jobs.aboveMax: must be one of clamp, deny")) << args[0];
    EXPECT_THAT(r.err, HasSubstr("watcher.pageSize: must be between 1 and 5000")) << args[0];
  }
}

}  // namespace
}  // namespace backstop::app
