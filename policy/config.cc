#include "policy/config.h"

#include <string>

#include "base/config_reader.h"
#include "policy/rule.h"
#include "policy/rules.h"

namespace backstop::policy {

StatusOr<PolicyConfig> ParsePolicyConfig(const rapidjson::Value& root) {
  return ParsePolicyConfig(root, BuiltinRules());
}

StatusOr<PolicyConfig> ParsePolicyConfig(const rapidjson::Value& root, const RuleTable& rules) {
  ConfigProblems problems;
  PolicyConfig config;
  ConfigReader top(root.IsNull() ? nullptr : &root, "", &problems);
  rules.ParseOptions(top, &config);
  top.Raw("watcher");  // the watcher's section, read by the watcher's own parser
  top.RejectUnknown();
  if (Status status = problems.ErrorStatus(); !status.ok()) return status;
  return config;
}

}  // namespace backstop::policy
