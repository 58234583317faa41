// `backstop budget list` and `backstop budget reset` against a fake cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/fake_cluster.h"
#include "tests/support/subprocess.h"

namespace backstop::app {
namespace {

using nlohmann::json;
using testing::FakeCluster;
using ::testing::HasSubstr;
using testing::kConfigMaps;
using testing::kTaskSpawners;
using ::testing::Not;
using testing::RunBackstop;

const std::string kLedger = "backstop-budget-kelos-tasks-agents";

std::string Record(int count, const std::string& owner, const std::string& last,
                   const std::string& reason) {
  return json{{"count", count}, {"first", "2026-11-25T08:00:00Z"},
              {"last", last},   {"reason", reason},
              {"object", "x"},  {"uid", "u"},
              {"uids", {"u"}},  {"owner", owner}}
      .dump();
}

class BudgetCommandTest : public ::testing::Test {
 protected:
  BudgetCommandTest() {
    cluster_.Serve(kConfigMaps);
    cluster_.Serve(kTaskSpawners);
    kubeconfig_ = cluster_.WriteKubeconfig();
    cluster_.Create(kTaskSpawners,
                    {{"metadata",
                      {{"name", "my-spawner"},
                       {"namespace", "agents"},
                       {"annotations", {{"backstop.dev/max-retries-per-item", "3"}}}}},
                     {"spec", json::object()}});
    cluster_.Create(
        kConfigMaps,
        {{"metadata",
          {{"name", kLedger},
           {"namespace", "backstop-system"},
           {"labels",
            {{"backstop.dev/budget-ledger", "true"},
             {"backstop.dev/budget-source", "kelos-tasks"},
             {"backstop.dev/budget-namespace", "agents"}}}}},
         {"data",
          {{"my-spawner-42", Record(3, "my-spawner", "2026-11-25T10:02:11Z", "Task failed")},
           {"my-spawner-43", Record(1, "my-spawner", "2026-11-25T10:05:00Z", "Task failed")},
           {"garbage", "{not json"}}}});
  }

  testing::ProcessResult Budget(std::vector<std::string> args) {
    args.insert(args.begin(), "budget");
    args.insert(args.end(), {"--kubeconfig", kubeconfig_, "--ledger-namespace", "backstop-system"});
    return RunBackstop(args);
  }

  json Data() { return (*cluster_.Get(kConfigMaps, "backstop-system", kLedger))["data"]; }

  FakeCluster cluster_;
  std::string kubeconfig_;
};

TEST_F(BudgetCommandTest, ListShowsStoppedItemsWithTheirLimit) {
  testing::ProcessResult r = Budget({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("NAMESPACE  SOURCE       ITEM           OWNER       FAILURES  LIMIT"));
  EXPECT_THAT(r.out, HasSubstr("agents     kelos-tasks  my-spawner-42  my-spawner  3         3"));
  EXPECT_THAT(r.out, Not(HasSubstr("my-spawner-43")));  // below its limit
  // The garbage value is reported and left out, never a crash.
  EXPECT_THAT(r.err, HasSubstr("garbage: not a JSON object (left out)"));

  testing::ProcessResult all = Budget({"list", "--all", "-o", "json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_THAT(all.out, HasSubstr(R"("item":"my-spawner-43")"));
  EXPECT_THAT(all.out, HasSubstr(R"("stopped":true)"));
  EXPECT_THAT(all.out, HasSubstr(R"("stopped":false)"));
}

TEST_F(BudgetCommandTest, ResetOneItemThenAnOwnersItems) {
  testing::ProcessResult r =
      Budget({"reset", "-n", "agents", "--source", "kelos-tasks", "my-spawner-42"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "reset agents/kelos-tasks/my-spawner-42\n");
  EXPECT_FALSE(Data().contains("my-spawner-42"));
  EXPECT_TRUE(Data().contains("my-spawner-43"));
  EXPECT_EQ(Data()["garbage"], "{not json");  // never lost by a write
  const json annotations =
      (*cluster_.Get(kConfigMaps, "backstop-system", kLedger))["metadata"]["annotations"];
  EXPECT_TRUE(json::parse(annotations["backstop.dev/budget-resets"].get<std::string>())
                  .contains("my-spawner-42"));

  testing::ProcessResult again =
      Budget({"reset", "-n", "agents", "--source", "kelos-tasks", "my-spawner-42"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("no ledger record for agents/kelos-tasks/my-spawner-42"));

  testing::ProcessResult owner = Budget({"reset", "-n", "agents", "--owner", "my-spawner"});
  ASSERT_EQ(owner.exit_code, 0) << owner.err;
  EXPECT_FALSE(Data().contains("my-spawner-43"));
}

TEST_F(BudgetCommandTest, UsageErrorsExit2) {
  EXPECT_EQ(Budget({"reset", "--source", "kelos-tasks", "x"}).exit_code, 2);  // no -n
  EXPECT_EQ(Budget({"reset", "-n", "agents", "x"}).exit_code, 2);             // no --source
  EXPECT_EQ(Budget({"reset", "-n", "agents"}).exit_code, 2);                  // nothing
}

}  // namespace
}  // namespace backstop::app
