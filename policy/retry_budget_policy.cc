#include "policy/retry_budget_policy.h"

#include <algorithm>
#include <set>

#include "base/json_util.h"
#include "base/time.h"
#include "policy/engine.h"
#include "policy/field_rules.h"

namespace backstop::policy {
namespace {

constexpr int64_t kMaxRetriesCeiling = 1000000;

// A whole number of retries written as a string of digits ("3"); nullopt otherwise.
std::optional<int64_t> ParseCount(std::string_view text) {
  if (text.empty() || text.size() > 7) return std::nullopt;
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Hex(uint64_t v) {
  std::string out;
  for (int shift = 60; shift >= 0; shift -= 4) out += "0123456789abcdef"[(v >> shift) & 0xf];
  return out;
}

bool HasVersion(const BudgetSource& source, std::string_view version) {
  return std::find(source.versions.begin(), source.versions.end(), version) !=
         source.versions.end();
}

// "backstop budget reset --namespace agents --source kelos-tasks my-spawner-42"
std::string ResetCommand(const WorkItem& item) {
  return "backstop budget reset --namespace " + item.namespace_name + " --source " + item.source +
         " " + item.key;
}

std::string Times(int64_t n) { return n == 1 ? "once" : std::to_string(n) + " times"; }

// "(TaskSpawner agents/my-spawner)", or "(namespace agents)" for sources without owners.
std::string Whose(const BudgetSource& source, const WorkItem& item) {
  if (item.owner.empty()) return "(namespace " + item.namespace_name + ")";
  return "(" + source.owner_kind + " " + item.namespace_name + "/" + item.owner + ")";
}

std::string Reason(const BudgetEntry& entry) {
  std::string reason =
      entry.last_reason.empty() ? std::string("no reason given") : entry.last_reason;
  if (reason.size() > 120) reason = reason.substr(0, 117) + "...";
  return QuoteJson(reason);
}

// A stopped item: its entry reached its limit and nothing lifts it.
struct Stopped {
  const BudgetSource* source;
  WorkItem item;
  const BudgetEntry* entry;
  int64_t limit;
  std::string set_by;
};

// Whether `entry` stops a new attempt now. `object` (the new attempt) may be null.
bool Stops(const BudgetEntry& entry, int64_t limit, bool reset_on_change,
           const rapidjson::Value* object, const RetryBudgetOptions& options, TimePoint now) {
  if (limit <= 0 || entry.count < limit) return false;
  if (options.reset_after_seconds > 0 &&
      now - entry.last_failure >= std::chrono::seconds(options.reset_after_seconds)) {
    return false;
  }
  if (reset_on_change && object != nullptr && !entry.prompt_hash.empty() &&
      PromptHash(*object) != entry.prompt_hash) {
    return false;  // a changed prompt starts the count again
  }
  return true;
}

Decision AttemptDecision(const Stopped& s, const RetryBudgetOptions& options) {
  const std::string what = "work item " + s.item.key + " " + Whose(*s.source, s.item) + " failed " +
                           Times(s.entry->count) + " in a row, limit " + std::to_string(s.limit);
  const std::string last =
      "last: Failed " + FormatTimestamp(s.entry->last_failure) + " " + Reason(*s.entry);
  const std::string audit =
      std::string(EnforcementName(options.enforcement)) + ": " + what + " (" + s.item.source + ")";
  Decision d;
  switch (options.enforcement) {
    case Enforcement::kDeny:
      d = Decision::Denied(
          std::string(kRuleBudgetExhausted),
          what + "; " + last + "; fix the cause, then reset: " + ResetCommand(s.item), 403,
          "Forbidden");
      break;
    case Enforcement::kWarn:
      d = Decision::Allowed()
              .WithRule(std::string(kRuleBudgetExhausted))
              .WithWarning(what + "; reset: " + ResetCommand(s.item));
      break;
    case Enforcement::kDryRun:
      d = Decision::Allowed().WithRule(std::string(kRuleBudgetExhausted));
      break;
  }
  d.WithAuditAnnotation(std::string(kRuleBudgetExhausted), audit);
  return d;
}

// The warning for a TaskSpawner whose items are stopped.
Decision SpawnerDecision(const AdmissionRequest& request, const PolicyContext& context,
                         const RetryBudgetOptions& options, const BudgetFacts& budget) {
  const std::string_view spawner =
      AsString(Find(request.object, {"metadata", "name"})).value_or(std::string_view(request.name));
  if (spawner.empty()) return Decision::Allowed();
  const OwnerLimit declared = OwnerLimitOf(*request.object);
  std::vector<Stopped> stopped;
  for (const BudgetSource& source : options.sources) {
    if (source.shape != OutcomeShape::kKelosTask || source.owner_label.empty()) continue;
    auto owned = budget.by_owner.find(OwnerKey(request.ns, spawner));
    if (owned == budget.by_owner.end()) continue;
    for (const std::string& key : owned->second) {
      auto it = budget.entries.find(key);
      if (it == budget.entries.end()) continue;
      const std::string prefix = source.name + "/" + request.ns + "/";
      if (key.rfind(prefix, 0) != 0) continue;
      WorkItem item{source.name, request.ns, key.substr(prefix.size()), std::string(spawner)};
      // The limit the TaskSpawner being admitted declares, else what is known already.
      int64_t limit = declared.max_retries_per_item;
      std::string set_by = declared.set_by;
      if (limit <= 0) limit = LimitFor(source, item, budget, options, &set_by);
      if (!Stops(it->second, limit, false, nullptr, options, context.now)) continue;
      stopped.push_back(Stopped{&source, std::move(item), &it->second, limit, set_by});
    }
  }
  if (stopped.empty()) return Decision::Allowed();
  std::sort(stopped.begin(), stopped.end(), [](const Stopped& a, const Stopped& b) {
    return a.entry->last_failure > b.entry->last_failure;
  });
  std::string list;
  const size_t shown =
      std::min(stopped.size(), static_cast<size_t>(options.max_stopped_items_shown));
  for (size_t i = 0; i < shown; ++i) {
    list += (i == 0 ? "" : ", ") + stopped[i].item.key + " (" +
            std::to_string(stopped[i].entry->count) + "x)";
  }
  if (stopped.size() > shown) list += " and " + std::to_string(stopped.size() - shown) + " more";
  const std::string count =
      stopped.size() == 1 ? "1 work item is" : std::to_string(stopped.size()) + " work items are";
  Decision d = Decision::Allowed().WithRule(std::string(kRuleBudgetStoppedItems));
  d.WithWarning(count + " stopped after failing in a row: " + list +
                "; reset: backstop budget reset --namespace " + request.ns + " --owner " +
                std::string(spawner));
  return d;
}

}  // namespace

void ParseRetryBudgetOptions(ConfigReader reader, RetryBudgetOptions* out) {
  ReadEnforcement(reader, "enforcement", &out->enforcement);
  reader.Int("defaultMaxRetriesPerItem", &out->default_max_retries_per_item, 0, kMaxRetriesCeiling);
  reader.Int("resetAfterSeconds", &out->reset_after_seconds, 0, int64_t{366} * 24 * 3600);
  reader.Int("maxEntriesPerLedger", &out->max_entries_per_ledger, 1, 500);
  reader.Int("maxStoppedItemsShown", &out->max_stopped_items_shown, 1, 20);
  if (const rapidjson::Value* list = reader.Raw("sources")) {
    if (!list->IsArray()) {
      reader.Fail("sources", "must be a list of sources, got " + std::string(TypeName(*list)));
    } else {
      std::set<std::string> names;
      for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
        const std::string at = "sources[" + std::to_string(i) + "]";
        const rapidjson::Value& item = (*list)[i];
        ConfigReader entry = reader.Nested(at, &item);
        const std::string name = std::string(AsString(Member(&item, "name")).value_or(""));
        if (!names.insert(name).second && !name.empty()) {
          reader.Fail(at + ".name", "\"" + name + "\" is listed twice");
          continue;
        }
        auto builtin = std::find_if(out->sources.begin(), out->sources.end(),
                                    [&](const BudgetSource& s) { return s.name == name; });
        if (builtin != out->sources.end() && Member(&item, "kind") == nullptr) {
          // A built-in source: only its limit is set here.
          std::string ignored;
          entry.String("name", &ignored);
          entry.Int("maxRetriesPerItem", &builtin->max_retries_per_item, 0, kMaxRetriesCeiling);
          entry.RejectUnknown();
          continue;
        }
        if (builtin != out->sources.end()) {
          reader.Fail(at + ".name", "\"" + name + "\" is a built-in source; give another name");
          continue;
        }
        if (auto source = ParseBudgetSource(entry)) out->sources.push_back(std::move(*source));
      }
    }
  }
  reader.RejectUnknown();
}

int64_t LimitFor(const BudgetSource& source, const WorkItem& item, const BudgetFacts& budget,
                 const RetryBudgetOptions& options, std::string* set_by) {
  auto say = [&](std::string where) {
    if (set_by != nullptr) *set_by = std::move(where);
  };
  if (source.shape == OutcomeShape::kKelosTask && !item.owner.empty()) {
    auto owner = budget.owners.find(OwnerKey(item.namespace_name, item.owner));
    if (owner != budget.owners.end() && owner->second.max_retries_per_item > 0) {
      say(owner->second.set_by);
      return owner->second.max_retries_per_item;
    }
    if (source.max_retries_per_item > 0) {
      say("retryBudget.sources " + source.name);
      return source.max_retries_per_item;
    }
    say("retryBudget.defaultMaxRetriesPerItem");
    return options.default_max_retries_per_item;
  }
  say("retryBudget.sources " + source.name);
  return source.max_retries_per_item;
}

OwnerLimit OwnerLimitOf(const rapidjson::Value& task_spawner) {
  OwnerLimit limit;
  const rapidjson::Value* field =
      Find(&task_spawner, {"spec", "failurePolicy", "maxRetriesPerItem"});
  if (field != nullptr && field->IsInt64() && field->GetInt64() > 0 &&
      field->GetInt64() <= kMaxRetriesCeiling) {
    limit.max_retries_per_item = field->GetInt64();
    limit.set_by = "spec.failurePolicy.maxRetriesPerItem";
  } else if (auto text = AsString(
                 Member(Find(&task_spawner, {"metadata", "annotations"}), kMaxRetriesAnnotation))) {
    if (auto n = ParseCount(*text); n && *n > 0) {
      limit.max_retries_per_item = *n;
      limit.set_by = "annotation " + std::string(kMaxRetriesAnnotation);
    }
  }
  const rapidjson::Value* reset = Find(&task_spawner, {"spec", "failurePolicy", "resetOnChange"});
  if (reset != nullptr && reset->IsBool()) {
    limit.reset_on_change = reset->GetBool();
  } else {
    limit.reset_on_change =
        AsString(Member(Find(&task_spawner, {"metadata", "annotations"}), kResetOnChangeAnnotation))
            .value_or("") == "true";
  }
  return limit;
}

std::string PromptHash(const rapidjson::Value& task) {
  auto prompt = AsString(Find(&task, {"spec", "prompt"}));
  if (!prompt) return "";
  return "fnv64:" + Hex(Fnv1a(*prompt));
}

Decision ValidateRetryBudget(const AdmissionRequest& request, const PolicyContext& context) {
  const RetryBudgetOptions& options = context.config.Get<RetryBudgetOptions>();
  const BudgetFacts* budget = context.facts.budget.get();
  if (budget == nullptr || !budget->synced || request.object == nullptr ||
      !request.object->IsObject()) {
    return Decision::Allowed();
  }
  if (request.kind.group == "kelos.dev" && request.kind.kind == "TaskSpawner") {
    return SpawnerDecision(request, context, options, *budget);
  }
  if (request.operation != Operation::kCreate) return Decision::Allowed();
  for (const BudgetSource& source : options.sources) {
    if (!Covers(source, request.kind.group, request.kind.kind)) continue;
    if (!HasVersion(source, request.kind.version)) continue;  // a version we do not know
    auto item = ItemOf(source, *request.object, request.ns);
    if (!item) continue;
    auto it = budget->entries.find(BudgetKey(item->source, item->namespace_name, item->key));
    if (it == budget->entries.end()) continue;
    std::string set_by;
    const int64_t limit = LimitFor(source, *item, *budget, options, &set_by);
    bool reset_on_change = source.reset_on_change;
    if (!item->owner.empty()) {
      auto owner = budget->owners.find(OwnerKey(item->namespace_name, item->owner));
      if (owner != budget->owners.end()) reset_on_change |= owner->second.reset_on_change;
    }
    if (!Stops(it->second, limit, reset_on_change, request.object, options, context.now)) {
      continue;
    }
    return AttemptDecision(Stopped{&source, std::move(*item), &it->second, limit, set_by}, options);
  }
  return Decision::Allowed();
}

}  // namespace backstop::policy
