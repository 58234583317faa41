#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "policy/budget_facts.h"

namespace backstop::watcher {

// The retry-budget ledger: one ConfigMap per (source, namespace) in backstop's own
// namespace, named policy::LedgerName(source, namespace), labelled so replicas can watch
// them all. Each data key is a work item's key; its value is one JSON object:
//
//   {"count":3,"first":"2026-11-25T08:02:11Z","last":"2026-11-25T10:02:11Z",
//    "reason":"DeadlineExceeded","object":"my-spawner-42","uid":"…","uids":["…","…"],
//    "owner":"my-spawner","promptHash":"fnv64:…"}
//
// A person resets an item by removing its key; the annotation backstop.dev/budget-resets
// then records when (a JSON object key -> RFC 3339 time) so that a failure seen before the
// reset is never counted again.
inline constexpr std::string_view kLedgerLabel = "backstop.dev/budget-ledger";
inline constexpr std::string_view kLedgerSourceLabel = "backstop.dev/budget-source";
inline constexpr std::string_view kLedgerNamespaceLabel = "backstop.dev/budget-namespace";
inline constexpr std::string_view kLedgerResetsAnnotation = "backstop.dev/budget-resets";
// The label selector that finds every ledger ConfigMap.
inline constexpr std::string_view kLedgerSelector = "backstop.dev/budget-ledger=true";

// Size bounds, so that a full ledger stays well under the 1 MiB object limit.
inline constexpr size_t kMaxReasonBytes = 200;
inline constexpr size_t kMaxRememberedUids = 4;
inline constexpr size_t kMaxLedgerBytes = 768 * 1024;

// One work item's record: the entry admission reads and the UIDs already counted.
struct LedgerRecord {
  policy::BudgetEntry entry;
  std::vector<std::string> uids;  // most recent last, at most kMaxRememberedUids
};

// A decoded ledger ConfigMap.
struct Ledger {
  std::string name;            // ConfigMap name
  std::string namespace_name;  // where the ConfigMap lives (backstop's namespace)
  std::string resource_version;
  std::string source;                           // budget source name
  std::string item_namespace;                   // the namespace its items live in
  std::map<std::string, LedgerRecord> records;  // item key -> record
  std::map<std::string, WallTime> resets;       // item key -> when a person reset it
  // Values that did not decode, kept verbatim so that a write never loses what a person
  // put there (they are reported, and admission ignores them).
  std::map<std::string, std::string> undecoded;
};

// One garbage value, skipped: the key and what is wrong with it.
struct LedgerProblem {
  std::string key;
  std::string what;
};

// Decodes a ConfigMap object. Entries that do not decode (not JSON, wrong types, a count
// below 1, an invalid key) are reported in *problems and left out, key by key; the rest
// is kept. A ConfigMap that is not a ledger (labels missing) gives a Ledger with an
// empty source.
Ledger DecodeLedger(const rapidjson::Value& configmap, std::vector<LedgerProblem>* problems);

// The ConfigMap JSON for a create (empty resource_version) or an update (with the
// resourceVersion precondition).
std::string EncodeLedger(const Ledger& ledger);

// One record's JSON value (as stored under its key) and back.
std::string EncodeRecord(const LedgerRecord& record);

// What happens to one item. Applying a change twice is the same as applying it once
// (failures are counted by UID), so a writer may retry after a conflict.
struct LedgerChange {
  enum class Kind { kFailure, kSuccess, kPromptChanged, kReset };
  Kind kind = Kind::kFailure;
  std::string key;
  std::string uid;          // the attempt (failure, success)
  WallTime at{};            // when it failed / succeeded / was reset
  std::string reason;       // failure
  std::string object;       // failure: the attempt's name
  std::string owner;        // failure
  std::string prompt_hash;  // failure, prompt changed
};

// What applying changes did, for metrics and Events.
struct ApplyResult {
  bool changed = false;
  std::vector<std::string> counted;  // keys whose count went up
  size_t evicted = 0;
};

// Applies `changes` to `ledger` in order: a failure counts once per UID and not at all
// when it happened at or before a reset of its key; a success (at or after the last
// failure) and a changed prompt remove the record; a reset removes it and records when.
// Then records not seen failing for `reset_after` (when > 0) are dropped, and the oldest
// records are evicted beyond `max_records` (and beyond kMaxLedgerBytes once encoded).
ApplyResult ApplyChanges(Ledger* ledger, const std::vector<LedgerChange>& changes,
                         size_t max_records, std::chrono::seconds reset_after, WallTime now);

}  // namespace backstop::watcher
