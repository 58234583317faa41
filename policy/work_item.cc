#include "policy/work_item.h"

#include <algorithm>

#include "base/json_util.h"

namespace backstop::policy {
namespace {

constexpr std::string_view kKeyPlaceholder = "{key}";

std::string_view Label(const rapidjson::Value& object, std::string_view key) {
  return AsString(Member(Find(&object, {"metadata", "labels"}), key)).value_or("");
}

// Glob match of `pattern` (only "*" is special) against `text`.
bool Glob(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] != '*' && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

// FNV-1a, 64 bits: a short stable suffix for names cut to fit.
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string_view OutcomeShapeName(OutcomeShape shape) {
  switch (shape) {
    case OutcomeShape::kKelosTask:
      return "kelosTask";
    case OutcomeShape::kJob:
      return "job";
    case OutcomeShape::kPod:
      return "pod";
  }
  return "job";
}

std::vector<BudgetSource> BuiltinBudgetSources() {
  BudgetSource kelos;
  kelos.name = "kelos-tasks";
  kelos.shape = OutcomeShape::kKelosTask;
  kelos.group = "kelos.dev";
  kelos.versions = {"v1alpha1", "v1alpha2"};
  kelos.resource = "tasks";
  kelos.kind = "Task";
  // The spawner names a Task <spawner>-<itemID> (or by its nameTemplate): the name is the
  // item. Manual runs drop the spawner label and are not counted.
  kelos.owner_label = std::string(kKelosSpawnerLabel);
  kelos.owner_kind = "TaskSpawner";
  kelos.owner_group_version = "kelos.dev/v1alpha2";

  BudgetSource executor;
  executor.name = "executor-jobs";
  executor.shape = OutcomeShape::kJob;
  executor.group = "batch";
  executor.versions = {"v1"};
  executor.resource = "jobs";
  executor.kind = "Job";
  // Job names carry a timestamp and are never stable: the task id label is the item.
  executor.key_labels = {"agent.benjamin-borbe.de/task-id"};

  BudgetSource optio;
  optio.name = "optio-pods";
  optio.shape = OutcomeShape::kPod;
  optio.group = "";
  optio.versions = {"v1"};
  optio.resource = "pods";
  optio.kind = "Pod";
  optio.match_labels = {{"managed-by", "optio"}};
  optio.key_labels = {"optio.repo-url"};
  return {kelos, executor, optio};
}

bool Covers(const BudgetSource& source, std::string_view group, std::string_view kind) {
  return source.group == group && source.kind == kind;
}

std::optional<std::string> MatchNamePattern(std::string_view pattern, std::string_view name) {
  const size_t at = pattern.find(kKeyPlaceholder);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view before = pattern.substr(0, at);
  const std::string_view after = pattern.substr(at + kKeyPlaceholder.size());
  // Try every split of `name` into <before-part><key><after-part>, shortest key first, so
  // "{key}-*" on "a-b-c" gives "a". Names are at most 253 characters: O(n^2) at worst.
  for (size_t start = 0; start <= name.size(); ++start) {
    if (!Glob(before, name.substr(0, start))) continue;
    for (size_t len = 1; start + len <= name.size(); ++len) {
      if (Glob(after, name.substr(start + len))) return std::string(name.substr(start, len));
    }
  }
  return std::nullopt;
}

bool IsValidDataKey(std::string_view key) {
  if (key.empty() || key.size() > 253) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

std::optional<WorkItem> ItemOf(const BudgetSource& source, const rapidjson::Value& object,
                               std::string_view namespace_name) {
  if (!object.IsObject()) return std::nullopt;
  for (const auto& [key, value] : source.match_labels) {
    if (Label(object, key) != value) return std::nullopt;
  }
  WorkItem item;
  item.source = source.name;
  item.namespace_name =
      std::string(AsString(Find(&object, {"metadata", "namespace"})).value_or(namespace_name));
  if (item.namespace_name.empty()) item.namespace_name = std::string(namespace_name);
  if (!source.owner_label.empty()) {
    item.owner = std::string(Label(object, source.owner_label));
    if (item.owner.empty()) return std::nullopt;  // e.g. a manual kelos run
  }
  if (!source.key_labels.empty()) {
    for (const std::string& label : source.key_labels) {
      const std::string_view value = Label(object, label);
      if (value.empty()) return std::nullopt;
      item.key += (item.key.empty() ? "" : ".") + std::string(value);
    }
  } else {
    const std::string_view name = AsString(Find(&object, {"metadata", "name"})).value_or("");
    if (name.empty()) return std::nullopt;  // generateName: the name is not known yet
    if (source.name_pattern.empty()) {
      item.key = std::string(name);
    } else if (auto key = MatchNamePattern(source.name_pattern, name)) {
      item.key = std::move(*key);
    } else {
      return std::nullopt;
    }
  }
  if (!IsValidDataKey(item.key)) return std::nullopt;
  return item;
}

std::string LedgerName(std::string_view source, std::string_view namespace_name) {
  std::string name = "backstop-budget-" + std::string(source) + "-" + std::string(namespace_name);
  if (name.size() <= 253) return name;
  std::string suffix = "-";
  const uint64_t hash = Fnv1a(name);
  for (int shift = 60; shift >= 0; shift -= 4) suffix += "0123456789abcdef"[(hash >> shift) & 0xf];
  return name.substr(0, 253 - suffix.size()) + suffix;
}

std::optional<BudgetSource> ParseBudgetSource(ConfigReader reader) {
  BudgetSource s;
  reader.String("name", &s.name);
  if (!IsDnsLabel(s.name)) {
    reader.Fail("name", "must be a DNS label (lower-case letters, digits, '-'; 1..63), got \"" +
                            s.name + "\"");
  }
  std::string kind;
  reader.Enum("kind", &kind, {"Job", "Pod", "Task"});
  if (kind.empty()) reader.Fail("kind", "is required: Job, Pod or Task (kelos.dev)");
  // The kind decides the API coordinates and how outcomes read; a configured source of a
  // built-in kind is served by the webhook entries the built-in sources use.
  for (const BudgetSource& builtin : BuiltinBudgetSources()) {
    if (builtin.kind != kind) continue;
    s.shape = builtin.shape;
    s.group = builtin.group;
    s.versions = builtin.versions;
    s.resource = builtin.resource;
    s.kind = builtin.kind;
  }
  if (const rapidjson::Value* labels = reader.Raw("matchLabels")) {
    if (!labels->IsObject()) {
      reader.Fail("matchLabels", "must be an object of label names to values");
    } else {
      for (auto it = labels->MemberBegin(); it != labels->MemberEnd(); ++it) {
        if (!it->value.IsString()) {
          reader.Fail("matchLabels." + std::string(it->name.GetString()), "must be a string");
          continue;
        }
        s.match_labels.emplace_back(it->name.GetString(), it->value.GetString());
      }
    }
  }
  reader.StringList("keyLabels", &s.key_labels);
  reader.String("namePattern", &s.name_pattern);
  if (!s.key_labels.empty() && !s.name_pattern.empty()) {
    reader.Fail("namePattern", "set keyLabels or namePattern, not both");
  }
  if (!s.name_pattern.empty() && s.name_pattern.find(kKeyPlaceholder) == std::string::npos) {
    reader.Fail("namePattern",
                "must contain {key}, e.g. \"{key}-attempt-*\", got \"" + s.name_pattern + "\"");
  }
  reader.String("ownerLabel", &s.owner_label);
  if (!s.owner_label.empty()) s.owner_kind = "owner";
  reader.Int("maxRetriesPerItem", &s.max_retries_per_item, 0, 1000000);
  reader.RejectUnknown();
  if (s.name.empty() || kind.empty()) return std::nullopt;
  return s;
}

}  // namespace backstop::policy
