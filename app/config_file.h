#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "policy/config.h"
#include "policy/rule.h"
#include "watcher/knowledge.h"
#include "watcher/watcher.h"

namespace backstop::app {

// The --config file, read in one pass at start: every rule's section (from the rule
// table), the "watcher" section, unknown keys. An empty path means all defaults.
struct LoadedConfig {
  std::shared_ptr<const policy::PolicyConfig> policy;
  watcher::WatcherOptions watcher;      // "watcher": what to watch and how
  watcher::KnowledgeOptions knowledge;  // "watcher": how long knowledge is kept
  // Problems that do not stop the program (deprecated keys), each "<file>: <path>: ...".
  std::vector<std::string> warnings;
};

// Reads YAML or JSON. Every problem of every section is reported at once, each line with
// its dotted key path, under one "--config <file>: invalid configuration:" heading
// (InvalidArgument); a file that cannot be read keeps its own code (e.g. NotFound).
StatusOr<LoadedConfig> LoadConfig(const std::string& path, const policy::RuleTable& rules);
// With the built-in rules.
StatusOr<LoadedConfig> LoadConfig(const std::string& path);

// Logs each of config.warnings (serve and watch; review prints them itself).
void LogConfigWarnings(const LoadedConfig& config);

}  // namespace backstop::app
