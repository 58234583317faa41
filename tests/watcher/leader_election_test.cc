#include "watcher/leader_election.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tests/support/fake_apiserver.h"

namespace backstop::watcher {
namespace {

using backstop::testing::FakeApiServer;
using ::testing::HasSubstr;

const char kLeases[] = "/apis/coordination.k8s.io/v1/namespaces/backstop-system/leases";
const char kLease[] =
    "/apis/coordination.k8s.io/v1/namespaces/backstop-system/leases/backstop-events";

std::string LeaseJson(const std::string& holder, const std::string& renew, const std::string& rv,
                      int transitions = 0) {
  return R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"backstop-events","namespace":"backstop-system","resourceVersion":")" +
         rv + R"("},"spec":{"holderIdentity":")" + holder +
         R"(","leaseDurationSeconds":15,"acquireTime":"2024-05-01T10:00:00.000000Z","renewTime":")" +
         renew + R"(","leaseTransitions":)" + std::to_string(transitions) + "}}";
}

class LeaderElectionTest : public ::testing::Test {
 protected:
  LeaderElectionTest() : client_(api_.Connection("t"), nullptr) {
    LeaderElectionOptions o;
    o.identity = "backstop-0";
    elector_ = std::make_unique<LeaderElector>(o, &client_, [this] { return now_; });
  }
  FakeApiServer api_;
  KubeClient client_;
  std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::time_point(std::chrono::seconds(1714557600));  // 2024-05-01T10:00Z
  std::unique_ptr<LeaderElector> elector_;
};

TEST_F(LeaderElectionTest, CreatesTheLeaseWhenAbsent) {
  // GET answers 404 (nothing scripted); the create succeeds.
  api_.EnqueueList(kLeases, {201, "{}"});
  EXPECT_TRUE(elector_->TryAcquireOrRenew());
  auto posts = api_.Requests();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[1].method, "POST");
  rapidjson::Document d;
  d.Parse(posts[1].body.c_str());
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["spec"]["holderIdentity"].GetString(), "backstop-0");
  EXPECT_EQ(d["spec"]["leaseDurationSeconds"].GetInt(), 15);
  EXPECT_STREQ(d["spec"]["renewTime"].GetString(), "2024-05-01T10:00:00.000000Z");
}

TEST_F(LeaderElectionTest, WaitsForAnotherHoldersLeaseToExpireThenTakesOver) {
  const std::string held = LeaseJson("backstop-1", "2024-05-01T09:59:59.000000Z", "7", 3);
  api_.EnqueueList(kLease, {200, held});
  EXPECT_FALSE(elector_->TryAcquireOrRenew());
  now_ += std::chrono::seconds(10);
  api_.EnqueueList(kLease, {200, held});  // unchanged, but only 10 s observed
  EXPECT_FALSE(elector_->TryAcquireOrRenew());
  now_ += std::chrono::seconds(6);
  api_.EnqueueList(kLease, {200, held});  // unchanged for 16 s > 15 s: expired
  api_.EnqueueList(kLease, {200, "{}"});  // the PUT
  EXPECT_TRUE(elector_->TryAcquireOrRenew());
  auto reqs = api_.Requests();
  ASSERT_EQ(reqs.back().method, "PUT");
  rapidjson::Document d;
  d.Parse(reqs.back().body.c_str());
  EXPECT_STREQ(d["metadata"]["resourceVersion"].GetString(), "7");  // optimistic concurrency
  EXPECT_STREQ(d["spec"]["holderIdentity"].GetString(), "backstop-0");
  EXPECT_EQ(d["spec"]["leaseTransitions"].GetInt(), 4);
}

TEST_F(LeaderElectionTest, RenewedLeaseOfAnotherHolderIsRespected) {
  api_.EnqueueList(kLease, {200, LeaseJson("backstop-1", "2024-05-01T09:59:59.000000Z", "7")});
  EXPECT_FALSE(elector_->TryAcquireOrRenew());
  now_ += std::chrono::seconds(14);
  api_.EnqueueList(kLease, {200, LeaseJson("backstop-1", "2024-05-01T10:00:13.000000Z", "8")});
  EXPECT_FALSE(elector_->TryAcquireOrRenew());
  now_ += std::chrono::seconds(14);  // 28 s since the first look, 14 s since the renewal
  api_.EnqueueList(kLease, {200, LeaseJson("backstop-1", "2024-05-01T10:00:13.000000Z", "8")});
  EXPECT_FALSE(elector_->TryAcquireOrRenew());
  for (const auto& r : api_.Requests()) EXPECT_EQ(r.method, "GET");
}

TEST_F(LeaderElectionTest, ConflictLosesAndFailedRenewalsStepDown) {
  api_.EnqueueList(kLease, {200, LeaseJson("", "", "1")});
  api_.EnqueueList(kLease, {409, R"({"kind":"Status","code":409,"reason":"Conflict"})"});
  EXPECT_FALSE(elector_->TryAcquireOrRenew());

  api_.EnqueueList(kLease, {200, LeaseJson("", "", "2")});
  api_.EnqueueList(kLease, {200, "{}"});
  EXPECT_TRUE(elector_->TryAcquireOrRenew());
  // The apiserver fails for longer than the renew deadline.
  now_ += std::chrono::seconds(5);
  api_.EnqueueList(kLease, {500, "{}"});
  EXPECT_TRUE(elector_->TryAcquireOrRenew());  // still within the deadline
  now_ += std::chrono::seconds(6);
  api_.EnqueueList(kLease, {500, "{}"});
  EXPECT_FALSE(elector_->TryAcquireOrRenew());
  EXPECT_FALSE(elector_->is_leader());
}

}  // namespace
}  // namespace backstop::watcher
