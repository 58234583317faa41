#include "watcher/attempt_outcome.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tests/support/fixtures.h"

namespace backstop::watcher {
namespace {

using Kind = AttemptOutcome::Kind;
using policy::OutcomeShape;
using testing::LoadFixtureJson;

TEST(AttemptOutcome, JobsFromRealStatuses) {
  BACKSTOP_REQUIRE_FIXTURES();
  const AttemptOutcome failed =
      OutcomeOf(OutcomeShape::kJob, *LoadFixtureJson("jobs/gitops-engine_job-failed.yaml"));
  EXPECT_EQ(failed.kind, Kind::kFailed);
  EXPECT_EQ(failed.reason, "BackoffLimitExceeded");
  EXPECT_EQ(failed.at, *ParseTimestamp("2018-12-02T08:09:27Z"));
  EXPECT_EQ(
      OutcomeOf(OutcomeShape::kJob, *LoadFixtureJson("jobs/gitops-engine_job-succeeded.yaml")).kind,
      Kind::kSucceeded);
  EXPECT_EQ(
      OutcomeOf(OutcomeShape::kJob, *LoadFixtureJson("jobs/gitops-engine_job-running.yaml")).kind,
      Kind::kNone);
}

TEST(AttemptOutcome, PodsFromRealStatusesAndATerminalWaitingReason) {
  BACKSTOP_REQUIRE_FIXTURES();
  const AttemptOutcome failed =
      OutcomeOf(OutcomeShape::kPod, *LoadFixtureJson("pods/gitops-engine_pod-failed.yaml"));
  EXPECT_EQ(failed.kind, Kind::kFailed);
  EXPECT_EQ(failed.reason,
            "NonZeroExit");  // the classifier's name for a container that exited non-zero
  EXPECT_EQ(
      OutcomeOf(OutcomeShape::kPod, *LoadFixtureJson("pods/gitops-engine_pod-succeeded.yaml")).kind,
      Kind::kSucceeded);
  EXPECT_EQ(
      OutcomeOf(OutcomeShape::kPod, *LoadFixtureJson("pods/gitops-engine_pod-pending.yaml")).kind,
      Kind::kNone);
  // No public capture has ErrImageNeverPull: the pending pod's container, edited to wait
  // with kubelet's exact reason and message. It fails with the pod's creation time.
  auto never = LoadFixtureJson("pods/gitops-engine_pod-pending.yaml");
  testing::SetWaiting(*never, "/status/containerStatuses/0", "ErrImageNeverPull",
                      "Container image \"optio-node:dev\" is not present with pull policy of "
                      "Never");
  const AttemptOutcome stuck = OutcomeOf(OutcomeShape::kPod, *never);
  EXPECT_EQ(stuck.kind, Kind::kFailed);
  EXPECT_EQ(stuck.reason, "ErrImageNeverPull");
  EXPECT_EQ(stuck.at, *ParseTimestamp("2018-12-02T10:16:04Z"));
  // A transient reason is no outcome yet.
  testing::SetWaiting(*never, "/status/containerStatuses/0", "ErrImagePull", "timeout");
  EXPECT_EQ(OutcomeOf(OutcomeShape::kPod, *never).kind, Kind::kNone);
}

TEST(AttemptOutcome, KelosTasksByPhase) {
  rapidjson::Document task;
  task.Parse(R"({"status":{"phase":"Failed","message":"Task failed",
                 "completionTime":"2026-11-25T10:02:11Z"}})");
  const AttemptOutcome failed = OutcomeOf(OutcomeShape::kKelosTask, task);
  EXPECT_EQ(failed.kind, Kind::kFailed);
  EXPECT_EQ(failed.reason, "Task failed");
  EXPECT_EQ(failed.at, *ParseTimestamp("2026-11-25T10:02:11Z"));
  task.Parse(R"({"status":{"phase":"Succeeded"}})");
  EXPECT_EQ(OutcomeOf(OutcomeShape::kKelosTask, task).kind, Kind::kSucceeded);
  for (const char* phase : {"Pending", "Running", "Waiting", ""}) {
    task.Parse((std::string(R"({"status":{"phase":")") + phase + "\"}}").c_str());
    EXPECT_EQ(OutcomeOf(OutcomeShape::kKelosTask, task).kind, Kind::kNone) << phase;
  }
  task.Parse(R"({"status":"garbage"})");
  EXPECT_EQ(OutcomeOf(OutcomeShape::kKelosTask, task).kind, Kind::kNone);
}

}  // namespace
}  // namespace backstop::watcher
