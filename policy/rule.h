#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config_reader.h"
#include "policy/admission_request.h"
#include "policy/config.h"
#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// Which webhook path a rule answers on: /validate (never patches) or /mutate.
enum class Endpoint { kValidate, kMutate };
std::string_view EndpointName(Endpoint e);  // "validate" or "mutate"

// One kind a rule reviews, spelled as a webhook configuration rule spells it, plus the
// webhook entry that sends it. A request matches when its kind's group and kind are these,
// its operation is one of `operations` and it is not a subresource request.
struct RuleTarget {
  std::string group;                  // apiGroups; "" for the core group
  std::vector<std::string> versions;  // apiVersions the webhook rule lists
  std::string resource;               // resources: the plural, e.g. "taskspawners"
  std::string kind;                   // request.kind.kind, e.g. "TaskSpawner"
  std::vector<Operation> operations;  // operations the webhook rule lists
  std::string webhook;                // webhook entry name, e.g. "agents.validate.backstop.dev"
};

// One admission rule: what it reviews, where its settings live, and how it decides.
// Policies build entries with MakeRule; the table of built-in rules is BuiltinRules().
struct Rule {
  std::string name;     // stable id and config section key, e.g. "taskSpawner"
  std::string summary;  // one line for the rule list in the docs
  Endpoint endpoint = Endpoint::kValidate;
  std::vector<RuleTarget> targets;
  // Reads the rule's config section into `config` (defaults stay where keys are absent);
  // problems go to the reader. Null when the rule has no settings.
  std::function<void(ConfigReader section, PolicyConfig* config)> parse_options;
  // Decides one matching request. Pure: no I/O, no clock (see PolicyContext).
  std::function<Decision(const AdmissionRequest&, const PolicyContext&)> decide;

  bool Matches(const AdmissionRequest& request) const;
};

// A rule whose settings are an `Options` struct read by `parse` (e.g. ParseJobOptions) and
// stored in PolicyConfig (policies read them with context.config.Get<Options>()).
template <typename Options>
Rule MakeRule(std::string name, std::string summary, Endpoint endpoint,
              std::vector<RuleTarget> targets, void (*parse)(ConfigReader, Options*),
              Decision (*decide)(const AdmissionRequest&, const PolicyContext&)) {
  Rule rule;
  rule.name = std::move(name);
  rule.summary = std::move(summary);
  rule.endpoint = endpoint;
  rule.targets = std::move(targets);
  rule.parse_options = [parse](ConfigReader section, PolicyConfig* config) {
    parse(std::move(section), &config->Mutable<Options>());
  };
  rule.decide = decide;
  return rule;
}

// The rules a server or a review runs. Dispatch, configuration parsing, `backstop review`,
// the rule list in the docs and the webhook manifests' tests all read one table.
class RuleTable {
 public:
  RuleTable() = default;
  explicit RuleTable(std::vector<Rule> rules) : rules_(std::move(rules)) {}

  const std::vector<Rule>& rules() const { return rules_; }
  // Adds a rule (e.g. an extension or a test's rule); names must stay unique.
  void Add(Rule rule) { rules_.push_back(std::move(rule)); }
  const Rule* Find(std::string_view name) const;

  // The answer of every rule on `endpoint` that matches the request, merged (a denial
  // wins; patches, warnings and audit annotations are combined). Allowed when none match.
  Decision Decide(Endpoint endpoint, const AdmissionRequest& request,
                  const PolicyContext& context) const;

  // Whether some rule on `endpoint` reviews this group/kind (any operation).
  bool Reviews(Endpoint endpoint, std::string_view group, std::string_view kind) const;

  // Reads every rule's config section from `top` (the config document's root reader).
  void ParseOptions(ConfigReader& top, PolicyConfig* config) const;

 private:
  std::vector<Rule> rules_;
};

}  // namespace backstop::policy
