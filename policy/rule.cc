#include "policy/rule.h"

#include <algorithm>

namespace backstop::policy {

std::string_view EndpointName(Endpoint e) {
  return e == Endpoint::kValidate ? "validate" : "mutate";
}

bool Rule::Matches(const AdmissionRequest& request) const {
  if (!request.sub_resource.empty()) return false;
  for (const RuleTarget& t : targets) {
    if (t.group != request.kind.group || t.kind != request.kind.kind) continue;
    if (std::find(t.operations.begin(), t.operations.end(), request.operation) !=
        t.operations.end()) {
      return true;
    }
  }
  return false;
}

const Rule* RuleTable::Find(std::string_view name) const {
  for (const Rule& r : rules_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

Decision RuleTable::Decide(Endpoint endpoint, const AdmissionRequest& request,
                           const PolicyContext& context) const {
  Decision decision = Decision::Allowed();
  for (const Rule& rule : rules_) {
    if (rule.endpoint != endpoint || !rule.Matches(request)) continue;
    decision.Merge(rule.decide(request, context));
  }
  return decision;
}

bool RuleTable::Reviews(Endpoint endpoint, std::string_view group, std::string_view kind) const {
  for (const Rule& rule : rules_) {
    if (rule.endpoint != endpoint) continue;
    for (const RuleTarget& t : rule.targets) {
      if (t.group == group && t.kind == kind) return true;
    }
  }
  return false;
}

void RuleTable::ParseOptions(ConfigReader& top, PolicyConfig* config) const {
  for (const Rule& rule : rules_) {
    if (rule.parse_options) rule.parse_options(top.Child(rule.name), config);
  }
}

}  // namespace backstop::policy
