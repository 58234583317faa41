#include "watcher/event_recorder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tests/support/fake_apiserver.h"

namespace backstop::watcher {
namespace {

using backstop::testing::FakeApiServer;
using ::testing::HasSubstr;

const char kEvents[] = "/api/v1/namespaces/agents/events";

// kubelet's exact wording for a missing image with imagePullPolicy: Never.
PodEventRequest NeverPull(const std::string& pod) {
  return {"agents", pod, "uid-" + pod, "ErrImageNeverPull",
          "Container image \"registry.local/agent:v2\" is not present with pull policy of Never"};
}

class EventRecorderTest : public ::testing::Test {
 protected:
  EventRecorderTest() : client_(api_.Connection("t"), nullptr) {
    api_.SetList(kEvents, {201, "{}"});
  }
  std::unique_ptr<EventRecorder> Make(int burst, double per_second) {
    EventRecorderOptions o;
    o.instance = "backstop-0";
    o.burst = burst;
    o.events_per_second = per_second;
    return std::make_unique<EventRecorder>(
        o, &client_, [this] { return leader_; },
        [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1714557600)); },
        [this] { return steady_; });
  }
  FakeApiServer api_;
  KubeClient client_;
  bool leader_ = true;
  std::chrono::steady_clock::time_point steady_{};
};

TEST_F(EventRecorderTest, OneWarningEventPerPodAndReasonWithRemedy) {
  auto rec = Make(10, 1.0);
  rec->Record(NeverPull("task-1"));
  rec->Record(NeverPull("task-1"));  // duplicate
  PodEventRequest other = NeverPull("task-1");
  other.reason = "InvalidImageName";
  other.message = "Failed to apply default image tag \"Bad:Tag\": couldn't parse image name";
  rec->Record(other);
  EXPECT_EQ(rec->Flush(), 2);
  rec->Record(NeverPull("task-1"));  // already written: still a duplicate
  EXPECT_EQ(rec->Flush(), 0);

  auto posts = api_.Requests();
  ASSERT_EQ(posts.size(), 2u);
  rapidjson::Document d;
  d.Parse(posts[0].body.c_str());
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["type"].GetString(), "Warning");
  EXPECT_STREQ(d["reason"].GetString(), "ErrImageNeverPull");
  EXPECT_STREQ(d["involvedObject"]["name"].GetString(), "task-1");
  EXPECT_STREQ(d["involvedObject"]["uid"].GetString(), "uid-task-1");
  EXPECT_STREQ(d["metadata"]["generateName"].GetString(), "task-1.");
  EXPECT_STREQ(d["firstTimestamp"].GetString(), "2024-05-01T10:00:00Z");
  const std::string message = d["message"].GetString();
  EXPECT_THAT(message, HasSubstr("is not present with pull policy of Never"));
  EXPECT_THAT(message, HasSubstr("imagePullPolicy IfNotPresent"));
}

TEST_F(EventRecorderTest, RateLimited) {
  auto rec = Make(2, 0.5);
  for (int i = 0; i < 5; ++i) rec->Record(NeverPull("task-" + std::to_string(i)));
  EXPECT_EQ(rec->Flush(), 2);  // the burst
  EXPECT_EQ(rec->Flush(), 0);
  steady_ += std::chrono::seconds(2);  // one token
  EXPECT_EQ(rec->Flush(), 1);
  steady_ += std::chrono::seconds(60);  // refills to the burst only
  EXPECT_EQ(rec->Flush(), 2);
  EXPECT_EQ(api_.Requests().size(), 5u);
}

TEST_F(EventRecorderTest, OnlyTheLeaderWrites) {
  auto rec = Make(10, 1.0);
  leader_ = false;
  rec->Record(NeverPull("task-1"));
  EXPECT_EQ(rec->Flush(), 0);
  EXPECT_EQ(rec->queued(), 0u);
  EXPECT_TRUE(api_.Requests().empty());
  leader_ = true;
  rec->Record(NeverPull("task-2"));
  EXPECT_EQ(rec->Flush(), 1);
  EXPECT_EQ(api_.Requests().size(), 1u);
}

}  // namespace
}  // namespace backstop::watcher
