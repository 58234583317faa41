#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/config_reader.h"

namespace backstop::policy {

// How an attempt reports its end: each platform's objects say failure and success
// differently (the watcher reads them; admission only needs the item key).
enum class OutcomeShape {
  kKelosTask,  // status.phase Failed / Succeeded
  kJob,        // a Failed / Complete condition with status True
  kPod,        // phase Failed or a terminal waiting reason / Running or Succeeded
};
std::string_view OutcomeShapeName(OutcomeShape shape);  // "kelosTask", "job", "pod"

// A budget source: which objects are attempts of a work item, and how to read the item's
// key. Attempts with equal (namespace, source, key) belong to one work item; its
// consecutive failures are counted in the ledger and a new attempt is refused once they
// reach the limit.
struct BudgetSource {
  std::string name;  // stable id: ledger ConfigMap name, metric label ("kelos-tasks")
  OutcomeShape shape = OutcomeShape::kJob;
  std::string group;                  // API group of the attempts ("" core, "batch", "kelos.dev")
  std::vector<std::string> versions;  // versions served ("v1"; kelos: v1alpha1, v1alpha2)
  std::string resource;               // plural ("tasks", "jobs", "pods")
  std::string kind;                   // "Task", "Job", "Pod"
  // Only objects carrying every one of these labels with these values are attempts.
  std::vector<std::pair<std::string, std::string>> match_labels;
  // The item key: the values of these labels, joined with "." (all must be present and
  // non-empty), or, when empty, the part of metadata.name that `name_pattern` names.
  std::vector<std::string> key_labels;
  // A glob over metadata.name with one "{key}" placeholder and "*" wildcards, e.g.
  // "{key}-attempt-*". Empty with no key_labels: the whole name is the key.
  std::string name_pattern;
  // The label whose value names the owner the item belongs to ("kelos.dev/taskspawner");
  // empty: the item has no owner beyond its namespace.
  std::string owner_label;
  std::string owner_kind;           // what the owner is, for messages and Events ("TaskSpawner")
  std::string owner_group_version;  // apiVersion of the owner ("kelos.dev/v1alpha2")
  // Consecutive failures allowed before new attempts are refused; 0 = no limit. For kelos
  // Tasks the owning TaskSpawner's setting comes first (see OwnerLimit).
  int64_t max_retries_per_item = 0;
  bool reset_on_change = false;  // a changed spec.prompt starts the count again (kelos)
};

// The sources backstop knows without configuration: kelos Tasks (key: the Task name, owner:
// its TaskSpawner), the agent executor's Jobs (key: label agent.benjamin-borbe.de/task-id)
// and optio's repo pods (key: label optio.repo-url, selected by managed-by=optio). Limits
// are 0 (off) until configured or, for kelos, set on the TaskSpawner.
std::vector<BudgetSource> BuiltinBudgetSources();

// The kelos label that names a Task's TaskSpawner; manual `kelos run` Tasks lack it.
inline constexpr std::string_view kKelosSpawnerLabel = "kelos.dev/taskspawner";
// The TaskSpawner annotation that sets (or overrides) the per-item retry limit.
inline constexpr std::string_view kMaxRetriesAnnotation = "backstop.dev/max-retries-per-item";
// The TaskSpawner annotation that turns resetOnChange on ("true").
inline constexpr std::string_view kResetOnChangeAnnotation = "backstop.dev/reset-on-change";

// One attempt's identity.
struct WorkItem {
  std::string source;  // BudgetSource::name
  std::string namespace_name;
  std::string key;    // ledger data key: [-._a-zA-Z0-9]{1,253}
  std::string owner;  // owner name ("" when the source has no owner label)
};

// The work item `object` (an attempt of `source`, in `namespace_name` when the object
// does not say) is an attempt of; nullopt when it is not one (another kind, a selector
// label missing, no usable key). Pure: reads labels and metadata.name only.
std::optional<WorkItem> ItemOf(const BudgetSource& source, const rapidjson::Value& object,
                               std::string_view namespace_name = {});

// Whether `source` covers objects of this group and kind.
bool Covers(const BudgetSource& source, std::string_view group, std::string_view kind);

// Matches `name` against a glob with one "{key}" placeholder ("{key}" matches one or more
// characters, "*" any run); the characters "{key}" matched, or nullopt.
std::optional<std::string> MatchNamePattern(std::string_view pattern, std::string_view name);

// A ConfigMap data key: 1..253 characters of [-._a-zA-Z0-9].
bool IsValidDataKey(std::string_view key);

// The ledger ConfigMap that holds `source`'s items of `namespace_name`:
// "backstop-budget-<source>-<namespace>" (cut and suffixed with a hash beyond 253
// characters).
std::string LedgerName(std::string_view source, std::string_view namespace_name);

// Reads one source of the "retryBudget.sources" list; problems go to the reader.
std::optional<BudgetSource> ParseBudgetSource(ConfigReader reader);

}  // namespace backstop::policy
