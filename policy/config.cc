#include "policy/config.h"

#include <vector>

namespace backstop::policy {

StatusOr<PolicyConfig> ParsePolicyConfig(const rapidjson::Value& root) {
  std::vector<std::string> errors;
  PolicyConfig config;
  ConfigReader top(root.IsNull() ? nullptr : &root, "", &errors);
  ParseTaskSpawnerOptions(top.Child("taskSpawner"), &config.task_spawner);
  ParseExecutorConfigOptions(top.Child("executorConfig"), &config.executor_config);
  ParseJobOptions(top.Child("jobs"), &config.jobs);
  ParseImageOptions(top.Child("images"), &config.images);
  top.Raw("watcher");  // the watcher's section, read by the watcher's own parser
  top.RejectUnknown();
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    return InvalidArgumentError(message);
  }
  return config;
}

}  // namespace backstop::policy
