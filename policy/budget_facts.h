#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace backstop::policy {

// The ledger's record of one work item: its consecutive failures.
struct BudgetEntry {
  int64_t count = 0;  // consecutive failures
  std::chrono::system_clock::time_point first_failure{};
  std::chrono::system_clock::time_point last_failure{};
  std::string last_reason;  // Task message, Job condition reason, pod reason
  std::string last_object;  // name of the last failed attempt
  std::string last_uid;
  std::string owner;        // owner name (TaskSpawner), "" when the source has none
  std::string prompt_hash;  // of the last failed attempt's spec.prompt (resetOnChange)
};

// What an owner (a TaskSpawner) says about its items' budget.
struct OwnerLimit {
  int64_t max_retries_per_item = 0;  // 0: not set by the owner
  bool reset_on_change = false;
  std::string set_by;  // where the limit came from, for messages ("annotation ...")
};

// The retry-budget part of cluster knowledge, immutable once published: every ledger
// entry and what owners say. Keys are built with BudgetKey / OwnerKey.
struct BudgetFacts {
  bool synced = false;  // the ledger ConfigMaps (and owners) have been listed
  std::unordered_map<std::string, BudgetEntry> entries;
  std::unordered_map<std::string, OwnerLimit> owners;
  // OwnerKey -> the BudgetKeys of that owner's entries (TaskSpawner warnings).
  std::unordered_map<std::string, std::vector<std::string>> by_owner;
};

// "<source>/<namespace>/<key>" and "<namespace>/<owner>": the maps' keys.
inline std::string BudgetKey(std::string_view source, std::string_view ns, std::string_view key) {
  std::string out;
  out.reserve(source.size() + ns.size() + key.size() + 2);
  out.append(source).append("/").append(ns).append("/").append(key);
  return out;
}
inline std::string OwnerKey(std::string_view ns, std::string_view owner) {
  return std::string(ns) + "/" + std::string(owner);
}

using BudgetFactsPtr = std::shared_ptr<const BudgetFacts>;

}  // namespace backstop::policy
