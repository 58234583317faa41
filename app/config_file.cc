#include "app/config_file.h"

#include <rapidjson/document.h>

#include "app/documents.h"
#include "base/config_reader.h"
#include "obs/log.h"
#include "policy/rules.h"

namespace backstop::app {

StatusOr<LoadedConfig> LoadConfig(const std::string& path) {
  return LoadConfig(path, policy::BuiltinRules());
}

StatusOr<LoadedConfig> LoadConfig(const std::string& path, const policy::RuleTable& rules) {
  rapidjson::Document empty;
  empty.SetObject();
  std::vector<SourceDocument> docs;
  const rapidjson::Value* root = &empty;
  if (!path.empty()) {
    auto loaded = LoadDocuments(path);
    if (!loaded) return Status(loaded.status().code(), "--config " + loaded.status().message());
    if (loaded->size() > 1) {
      return InvalidArgumentError("--config " + path + ": expected one document, found " +
                                  std::to_string(loaded->size()));
    }
    docs = std::move(*loaded);
    if (!docs.empty() && !docs[0].json->IsNull()) root = docs[0].json.get();
  }

  LoadedConfig out;
  policy::PolicyConfig policy_config;
  ConfigProblems problems;
  ConfigReader top(root, "", &problems);
  rules.ParseOptions(top, &policy_config);
  ConfigReader watcher_section = top.Child("watcher");
  watcher::ParseWatcherClientOptions(watcher_section, &out.watcher);
  watcher::ReadKnowledgeOptions(watcher_section, &out.knowledge);
  watcher_section.RejectUnknown();
  top.RejectUnknown();

  const std::string where = path.empty() ? "defaults" : path;
  if (!problems.errors.empty()) {
    std::string message = "--config " + where + ": invalid configuration:";
    for (const std::string& e : problems.errors) message += "\n  " + e;
    return InvalidArgumentError(message);
  }
  for (const std::string& w : problems.warnings) out.warnings.push_back(where + ": " + w);
  out.policy = std::make_shared<const policy::PolicyConfig>(std::move(policy_config));
  return out;
}

void LogConfigWarnings(const LoadedConfig& config) {
  for (const std::string& w : config.warnings) {
    obs::Log(obs::LogLevel::kWarn, "configuration warning", {{"detail", "--config " + w}});
  }
}

}  // namespace backstop::app
