#include "watcher/ledger_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "obs/metrics.h"
#include "policy/work_item.h"
#include "tests/support/fake_cluster.h"

namespace backstop::watcher {
namespace {

using nlohmann::json;
using testing::FakeCluster;
using ::testing::HasSubstr;
using testing::kConfigMaps;

const WallTime kT0 = *ParseTimestamp("2026-11-25T10:00:00Z");
const std::string kName = "backstop-budget-kelos-tasks-agents";
const std::string kPath = "/api/v1/namespaces/backstop-system/configmaps/" + kName;

LedgerChange Failure(const std::string& key, const std::string& uid, WallTime at) {
  LedgerChange c;
  c.key = key;
  c.uid = uid;
  c.at = at;
  c.reason = "Task failed";
  c.object = key;
  c.owner = "my-spawner";
  return c;
}

class LedgerWriterTest : public ::testing::Test {
 protected:
  LedgerWriterTest()
      : client_(cluster_.Connection(), nullptr),
        writer_(
            LedgerWriterOptions{}, &client_, [] { return kT0; }, &registry_) {
    cluster_.Serve(kConfigMaps);
  }

  json Record(const std::string& key) {
    auto cm = cluster_.Get(kConfigMaps, "backstop-system", kName);
    if (!cm || !(*cm)["data"].contains(key)) return nullptr;
    return json::parse((*cm)["data"][key].get<std::string>());
  }

  FakeCluster cluster_;
  KubeClient client_;
  obs::Registry registry_;
  LedgerWriter writer_;
};

TEST_F(LedgerWriterTest, CreatesThenUpdatesWithPreconditions) {
  auto first = writer_.Write("kelos-tasks", "agents", {Failure("my-spawner-42", "u1", kT0)});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(Record("my-spawner-42")["count"], 1);
  auto second = writer_.Write("kelos-tasks", "agents",
                              {Failure("my-spawner-42", "u2", kT0 + std::chrono::hours(1))});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(Record("my-spawner-42")["count"], 2);
  // Every update carried the resourceVersion it read.
  int puts = 0;
  for (const auto& r : cluster_.Requests()) {
    if (r.method != "PUT") continue;
    ++puts;
    EXPECT_FALSE(json::parse(r.body)["metadata"].value("resourceVersion", "").empty());
  }
  EXPECT_EQ(puts, 1);
  // The same failure again (a replayed watch) changes nothing and writes nothing.
  auto replay = writer_.Write("kelos-tasks", "agents",
                              {Failure("my-spawner-42", "u2", kT0 + std::chrono::hours(1))});
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(replay->changed);
  EXPECT_EQ(writer_.writes(), 2);
}

TEST_F(LedgerWriterTest, AConflictIsReadAgainMergedAndRetried) {
  ASSERT_TRUE(writer_.Write("kelos-tasks", "agents", {Failure("a", "u1", kT0)}).ok());
  // Someone else changes the ConfigMap between our read and our write: a person adds a
  // record for another item.
  auto cm = *cluster_.Get(kConfigMaps, "backstop-system", kName);
  cluster_.FailNext("PUT", kPath, 409, "Conflict");
  cm["data"]["b"] =
      R"({"count":2,"first":"2026-11-25T09:00:00Z","last":"2026-11-25T09:30:00Z","uids":["x"]})";
  ASSERT_TRUE(cluster_.Update(kConfigMaps, cm).has_value());
  auto result = writer_.Write("kelos-tasks", "agents", {Failure("a", "u2", kT0)});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(writer_.conflicts(), 1);
  EXPECT_EQ(Record("a")["count"], 2);
  EXPECT_EQ(Record("b")["count"], 2);  // the other writer's change is kept
  EXPECT_THAT(registry_.Render(),
              HasSubstr("backstop_budget_ledger_write_conflicts_total{source=\"kelos-tasks\"} 1"));
}

TEST_F(LedgerWriterTest, AlreadyExistsOnCreateIsAConflictLikeAnyOther) {
  // Another replica creates the ConfigMap first: our POST gets 409 AlreadyExists.
  cluster_.FailNext("POST", "/api/v1/namespaces/backstop-system/configmaps", 409, "AlreadyExists");
  auto result = writer_.Write("kelos-tasks", "agents", {Failure("a", "u1", kT0)});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(writer_.conflicts(), 1);
  EXPECT_EQ(Record("a")["count"], 1);
}

TEST_F(LedgerWriterTest, ErrorsKeepTheirMeaning) {
  cluster_.FailNext("GET", kPath, 403, "Forbidden");
  auto forbidden = writer_.Write("kelos-tasks", "agents", {Failure("a", "u1", kT0)});
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(forbidden.status().message(), HasSubstr("HTTP 403"));
  cluster_.FailNext("GET", kPath, 503, "ServiceUnavailable");
  EXPECT_EQ(writer_.Write("kelos-tasks", "agents", {Failure("a", "u1", kT0)}).status().code(),
            StatusCode::kUnavailable);
  // Conflicts forever: a Conflict error after the attempts, nothing lost in the store.
  ASSERT_TRUE(writer_.Write("kelos-tasks", "agents", {Failure("a", "u1", kT0)}).ok());
  cluster_.FailNext("PUT", kPath, 409, "Conflict", 100);
  auto busy = writer_.Write("kelos-tasks", "agents", {Failure("a", "u2", kT0)});
  EXPECT_EQ(busy.status().code(), StatusCode::kConflict);
  EXPECT_EQ(Record("a")["count"], 1);
}

TEST_F(LedgerWriterTest, AForeignConfigMapOfTheSameNameIsNotOverwritten) {
  ASSERT_TRUE(
      cluster_
          .Create(kConfigMaps, {{"metadata", {{"name", kName}, {"namespace", "backstop-system"}}},
                                {"data", {{"x", "y"}}}})
          .has_value());
  auto result = writer_.Write("kelos-tasks", "agents", {Failure("a", "u1", kT0)});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*cluster_.Get(kConfigMaps, "backstop-system", kName))["data"]["x"], "y");
}

}  // namespace
}  // namespace backstop::watcher
