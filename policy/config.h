#pragma once

#include <rapidjson/document.h>

#include <any>
#include <typeindex>
#include <typeinfo>
#include <unordered_map>

#include "base/status.h"

namespace backstop::policy {

class RuleTable;

// The policy configuration: one options struct per rule (TaskSpawnerOptions, JobOptions,
// ...), found by its type. Each rule's section of the --config file fills its struct (see
// Rule::parse_options); a rule that was not configured reads its defaults. A value type:
// copies are independent.
class PolicyConfig {
 public:
  // The options of type T: as configured, or T's defaults.
  template <typename T>
  const T& Get() const {
    auto it = sections_.find(std::type_index(typeid(T)));
    if (it == sections_.end()) {
      static const T kDefaults{};
      return kDefaults;
    }
    return *std::any_cast<T>(&it->second);
  }

  // The options of type T for changing (created with T's defaults on first use).
  template <typename T>
  T& Mutable() {
    auto [it, inserted] = sections_.try_emplace(std::type_index(typeid(T)), std::in_place_type<T>);
    return *std::any_cast<T>(&it->second);
  }

 private:
  std::unordered_map<std::type_index, std::any> sections_;
};

// Builds a PolicyConfig from a parsed config document: every section of `rules` (the
// built-in rules when omitted), the "watcher" section left to the watcher's own reader,
// unknown keys reported. All problems come back together, one per line, each with its
// dotted key path (InvalidArgument).
StatusOr<PolicyConfig> ParsePolicyConfig(const rapidjson::Value& root);
StatusOr<PolicyConfig> ParsePolicyConfig(const rapidjson::Value& root, const RuleTable& rules);

}  // namespace backstop::policy
