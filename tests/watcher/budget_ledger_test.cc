#include "watcher/budget_ledger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policy/work_item.h"

namespace backstop::watcher {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const WallTime kT0 = *ParseTimestamp("2026-11-25T10:00:00Z");

rapidjson::Document Parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

Ledger Empty() {
  Ledger l;
  l.name = policy::LedgerName("kelos-tasks", "agents");
  l.namespace_name = "backstop-system";
  l.source = "kelos-tasks";
  l.item_namespace = "agents";
  return l;
}

LedgerChange Failure(const std::string& key, const std::string& uid, WallTime at,
                     const std::string& reason = "DeadlineExceeded") {
  LedgerChange c;
  c.kind = LedgerChange::Kind::kFailure;
  c.key = key;
  c.uid = uid;
  c.at = at;
  c.reason = reason;
  c.object = key;
  c.owner = "my-spawner";
  return c;
}

LedgerChange Change(LedgerChange::Kind kind, const std::string& key, WallTime at,
                    const std::string& uid = "") {
  LedgerChange c;
  c.kind = kind;
  c.key = key;
  c.uid = uid;
  c.at = at;
  return c;
}

TEST(BudgetLedger, RoundTripsThroughTheConfigMap) {
  Ledger l = Empty();
  ApplyChanges(&l,
               {Failure("my-spawner-42", "uid-1", kT0),
                Failure("my-spawner-42", "uid-2", kT0 + std::chrono::minutes(65))},
               500, std::chrono::seconds(0), kT0);
  l.resets["my-spawner-7"] = kT0;
  const std::string encoded = EncodeLedger(l);
  std::vector<LedgerProblem> problems;
  const Ledger back = DecodeLedger(Parse(encoded), &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(back.name, "backstop-budget-kelos-tasks-agents");
  EXPECT_EQ(back.source, "kelos-tasks");
  EXPECT_EQ(back.item_namespace, "agents");
  ASSERT_EQ(back.records.count("my-spawner-42"), 1u);
  const LedgerRecord& r = back.records.at("my-spawner-42");
  EXPECT_EQ(r.entry.count, 2);
  EXPECT_EQ(r.entry.first_failure, kT0);
  EXPECT_EQ(r.entry.last_failure, kT0 + std::chrono::minutes(65));
  EXPECT_EQ(r.entry.last_uid, "uid-2");
  EXPECT_EQ(r.entry.owner, "my-spawner");
  EXPECT_THAT(r.uids, ElementsAre("uid-1", "uid-2"));
  EXPECT_EQ(back.resets.at("my-spawner-7"), kT0);
  // The stored value is the documented shape, readable with kubectl.
  const json cm = json::parse(encoded);
  EXPECT_EQ(cm["metadata"]["labels"]["backstop.dev/budget-ledger"], "true");
  EXPECT_EQ(json::parse(cm["data"]["my-spawner-42"].get<std::string>())["count"], 2);
}

TEST(BudgetLedger, GarbageIsReportedAndSkippedKeyByKey) {
  json cm = json::parse(EncodeLedger(Empty()));
  cm["data"] = {
      {"good-1", R"({"count":2,"first":"2026-11-25T10:00:00Z",
                               "last":"2026-11-25T11:00:00Z","reason":"x","uids":["a"]})"},
      {"not-json", "{count: 3"},
      {"zero", R"({"count":0,"first":"2026-11-25T10:00:00Z","last":"2026-11-25T11:00:00Z"})"},
      {"bad-time", R"({"count":1,"first":"yesterday","last":"2026-11-25T11:00:00Z"})"},
      {"huge", std::string(5000, ' ') + "{}"},
      {"string-count",
       R"({"count":"3","first":"2026-11-25T10:00:00Z","last":"2026-11-25T11:00:00Z"})"},
      {"deep", std::string(1500, '[') + std::string(1500, ']')}};
  cm["metadata"]["annotations"] = {{"backstop.dev/budget-resets", "{not json"}};
  std::vector<LedgerProblem> problems;
  const Ledger l = DecodeLedger(Parse(cm.dump()), &problems);
  EXPECT_EQ(l.records.size(), 1u);
  EXPECT_EQ(l.records.at("good-1").entry.count, 2);
  // What did not decode is kept verbatim: a write never loses what a person put there.
  EXPECT_EQ(l.undecoded.size(), 6u);
  const json written = json::parse(EncodeLedger(l));
  EXPECT_EQ(written["data"]["not-json"], "{count: 3");
  EXPECT_EQ(written["data"].size(), 7u);
  std::vector<std::string> bad;
  for (const auto& p : problems) bad.push_back(p.key + ": " + p.what);
  EXPECT_THAT(
      bad, ::testing::UnorderedElementsAre(
               "not-json: not a JSON object", "zero: count must be a whole number of at least 1",
               "bad-time: first must be an RFC 3339 time", HasSubstr("huge: value of 5002 bytes"),
               "string-count: count must be a whole number of at least 1",
               "deep: not a JSON object", "backstop.dev/budget-resets: not a JSON object"));
}

TEST(BudgetLedger, NotALedgerWithoutItsLabels) {
  std::vector<LedgerProblem> problems;
  const Ledger l = DecodeLedger(
      Parse(R"({"metadata":{"name":"other","labels":{"app":"x"}},"data":{"a":"b"}})"), &problems);
  EXPECT_TRUE(l.source.empty());
  EXPECT_TRUE(l.records.empty());
  EXPECT_TRUE(problems.empty());
}

TEST(BudgetLedger, FailuresCountOncePerUidAndSuccessEndsTheRun) {
  Ledger l = Empty();
  const auto r1 = ApplyChanges(&l, {Failure("k", "u1", kT0), Failure("k", "u1", kT0)}, 500,
                               std::chrono::seconds(0), kT0);
  EXPECT_THAT(r1.counted, ElementsAre("k"));
  EXPECT_EQ(l.records.at("k").entry.count, 1);
  ApplyChanges(&l, {Failure("k", "u2", kT0 + std::chrono::hours(1))}, 500, std::chrono::seconds(0),
               kT0);
  EXPECT_EQ(l.records.at("k").entry.count, 2);
  // A success older than the last failure does not end the run; a newer one does.
  LedgerChange old_success = Change(LedgerChange::Kind::kSuccess, "k", kT0, "u0");
  ApplyChanges(&l, {old_success}, 500, std::chrono::seconds(0), kT0);
  EXPECT_EQ(l.records.count("k"), 1u);
  LedgerChange success =
      Change(LedgerChange::Kind::kSuccess, "k", kT0 + std::chrono::hours(2), "u3");
  EXPECT_TRUE(ApplyChanges(&l, {success}, 500, std::chrono::seconds(0), kT0).changed);
  EXPECT_EQ(l.records.count("k"), 0u);
}

TEST(BudgetLedger, AResetIsRememberedSoEarlierFailuresNeverComeBack) {
  Ledger l = Empty();
  ApplyChanges(&l, {Failure("k", "u1", kT0), Failure("k", "u2", kT0 + std::chrono::minutes(5))},
               500, std::chrono::seconds(0), kT0);
  LedgerChange reset = Change(LedgerChange::Kind::kReset, "k", kT0 + std::chrono::minutes(10), "");
  ApplyChanges(&l, {reset}, 500, std::chrono::seconds(0), kT0);
  EXPECT_EQ(l.records.count("k"), 0u);
  // The attempt that failed before the reset is seen again (a relist): not counted.
  ApplyChanges(&l, {Failure("k", "u2", kT0 + std::chrono::minutes(5))}, 500,
               std::chrono::seconds(0), kT0);
  EXPECT_EQ(l.records.count("k"), 0u);
  // A new failure after the reset counts from 1.
  ApplyChanges(&l, {Failure("k", "u3", kT0 + std::chrono::minutes(20))}, 500,
               std::chrono::seconds(0), kT0);
  EXPECT_EQ(l.records.at("k").entry.count, 1);
}

TEST(BudgetLedger, ChangedPromptResetsAndQuietItemsAreForgotten) {
  Ledger l = Empty();
  LedgerChange f = Failure("k", "u1", kT0);
  f.prompt_hash = "fnv64:aaaa";
  ApplyChanges(&l, {f}, 500, std::chrono::seconds(0), kT0);
  LedgerChange same = Change(LedgerChange::Kind::kPromptChanged, "k", kT0, "");
  same.prompt_hash = "fnv64:aaaa";
  ApplyChanges(&l, {same}, 500, std::chrono::seconds(0), kT0);
  EXPECT_EQ(l.records.count("k"), 1u);
  LedgerChange changed = same;
  changed.prompt_hash = "fnv64:bbbb";
  ApplyChanges(&l, {changed}, 500, std::chrono::seconds(0), kT0);
  EXPECT_EQ(l.records.count("k"), 0u);

  ApplyChanges(&l, {Failure("q", "u9", kT0)}, 500, std::chrono::seconds(0), kT0);
  ApplyChanges(&l, {}, 500, std::chrono::hours(1), kT0 + std::chrono::minutes(59));
  EXPECT_EQ(l.records.count("q"), 1u);
  ApplyChanges(&l, {}, 500, std::chrono::hours(1), kT0 + std::chrono::minutes(60));
  EXPECT_EQ(l.records.count("q"), 0u);
}

TEST(BudgetLedger, TheCapEvictsTheOldestAndTheSizeStaysBounded) {
  Ledger l = Empty();
  std::vector<LedgerChange> changes;
  for (int i = 0; i < 30; ++i) {
    changes.push_back(Failure("item-" + std::to_string(i), "u" + std::to_string(i),
                              kT0 + std::chrono::minutes(i)));
  }
  const ApplyResult r = ApplyChanges(&l, changes, 20, std::chrono::seconds(0), kT0);
  EXPECT_EQ(r.evicted, 10u);
  EXPECT_EQ(l.records.size(), 20u);
  EXPECT_EQ(l.records.count("item-9"), 0u);  // the oldest ten went
  EXPECT_EQ(l.records.count("item-10"), 1u);

  // The largest records the cap allows, at the largest cap, stay under the byte bound.
  Ledger full = Empty();
  std::vector<LedgerChange> big;
  for (int i = 0; i < 500; ++i) {
    LedgerChange c = Failure(std::string(200, 'k') + std::to_string(i), std::string(36, 'u'),
                             kT0 + std::chrono::seconds(i), std::string(1000, 'r'));
    c.object = std::string(253, 'o');
    c.owner = std::string(253, 'w');
    big.push_back(c);
  }
  ApplyChanges(&full, big, 500, std::chrono::seconds(0), kT0);
  EXPECT_LE(EncodeLedger(full).size(), kMaxLedgerBytes);
  EXPECT_GT(full.records.size(), 300u);
}

}  // namespace
}  // namespace backstop::watcher
