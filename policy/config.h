#pragma once

#include <rapidjson/document.h>

#include "base/status.h"
#include "policy/executor_config_policy.h"
#include "policy/image_policy.h"
#include "policy/job_policy.h"
#include "policy/taskspawner_policy.h"

namespace backstop::policy {

// The whole policy configuration (the --config file). Every field has its default in its
// section's struct; a missing file or section means defaults.
struct PolicyConfig {
  TaskSpawnerOptions task_spawner;        // key: taskSpawner
  ExecutorConfigOptions executor_config;  // key: executorConfig
  JobOptions jobs;                        // key: jobs
  ImageOptions images;                    // key: images
};

// Builds a PolicyConfig from the parsed config document. All problems are reported
// together, one per line, each with its dotted key path.
StatusOr<PolicyConfig> ParsePolicyConfig(const rapidjson::Value& root);

}  // namespace backstop::policy
