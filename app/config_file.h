#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>

#include "base/status.h"
#include "policy/config.h"

namespace backstop::app {

// The --config file, parsed once at start. An empty path means all defaults.
struct LoadedConfig {
  std::shared_ptr<const policy::PolicyConfig> policy;
  // The whole document, for sections other modules read (e.g. "watcher").
  std::shared_ptr<const rapidjson::Document> document;
};

// Reads YAML or JSON; every problem is reported with the file name and the key path.
StatusOr<LoadedConfig> LoadConfig(const std::string& path);

}  // namespace backstop::app
