#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config_reader.h"
#include "policy/admission_request.h"
#include "policy/budget_facts.h"
#include "policy/decision.h"
#include "policy/enforcement.h"
#include "policy/work_item.h"

namespace backstop::policy {

struct PolicyContext;

inline constexpr std::string_view kRuleBudgetExhausted = "retrybudget.exhausted";
inline constexpr std::string_view kRuleBudgetStoppedItems = "retrybudget.stopped-items";

// The retry budget per work item (config section "retryBudget").
struct RetryBudgetOptions {
  // key enforcement (deny|warn|dryrun): what happens to an attempt whose item reached its
  // limit. Default deny.
  Enforcement enforcement = Enforcement::kDeny;
  // key defaultMaxRetriesPerItem: the limit for kelos TaskSpawners that set none (field
  // spec.failurePolicy.maxRetriesPerItem or annotation backstop.dev/max-retries-per-item).
  // Default 0: off unless the TaskSpawner asks for it.
  int64_t default_max_retries_per_item = 0;
  // key sources: the built-in sources (kelos-tasks, executor-jobs, optio-pods), whose
  // maxRetriesPerItem a list entry of the same name sets, and more sources of kind Job,
  // Pod or Task (see ParseBudgetSource). Default: the built-ins, limits 0.
  std::vector<BudgetSource> sources = BuiltinBudgetSources();
  // key resetAfterSeconds: an item not seen failing for this long starts again from 0.
  // Default 0: never (a stopped item stays stopped until it succeeds or is reset).
  int64_t reset_after_seconds = 0;
  // key maxEntriesPerLedger (1..500): the oldest entries (by last failure) of one ledger
  // ConfigMap are evicted past this, keeping it well under the 1 MiB object limit (a
  // record is at most ~900 bytes, typically ~300). Default 500.
  int64_t max_entries_per_ledger = 500;
  // key maxStoppedItemsShown: stopped items a TaskSpawner warning names before "and N
  // more". Default 3.
  int64_t max_stopped_items_shown = 3;
};

// Reads the "retryBudget" section.
void ParseRetryBudgetOptions(ConfigReader reader, RetryBudgetOptions* out);

// The limit that applies to `item` of `source`: for a source with an owner, what the owner
// says (known through `budget`), else the source's own limit, else (kelos) the default.
// 0: no limit. `set_by` (when not null) says where it came from.
int64_t LimitFor(const BudgetSource& source, const WorkItem& item, const BudgetFacts& budget,
                 const RetryBudgetOptions& options, std::string* set_by = nullptr);

// What a TaskSpawner object says: spec.failurePolicy.maxRetriesPerItem (where kelos' CRD
// keeps the field) else the backstop.dev/max-retries-per-item annotation; resetOnChange
// likewise. max_retries_per_item 0 when neither is set (or unreadable).
OwnerLimit OwnerLimitOf(const rapidjson::Value& task_spawner);

// The hash of a Task's spec.prompt that resetOnChange compares ("" when absent).
std::string PromptHash(const rapidjson::Value& task);

// Validating admission: a CREATE of an attempt whose work item failed as often as its
// limit in a row is refused (or warned, or recorded), with the count, the last failure and
// how to reset; dry-run requests get the same answer. A TaskSpawner CREATE or UPDATE gets
// a warning naming its stopped items. Unknown kelos versions and unsynced knowledge pass.
Decision ValidateRetryBudget(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
