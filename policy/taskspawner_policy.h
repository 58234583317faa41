#pragma once

#include <chrono>

#include "base/config_reader.h"
#include "policy/admission_request.h"
#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// Limits for kelos.dev TaskSpawner validation (config section "taskSpawner").
struct TaskSpawnerOptions {
  // key minPollInterval (a Go duration such as "30s", or whole seconds): poll intervals
  // below it are denied. Default 30s.
  std::chrono::nanoseconds min_poll_interval = std::chrono::seconds(30);
  // key warnLoopRisk: warn when a failing item would be recreated forever (TTL set, no
  // trigger comment, no failurePolicy.maxRetriesPerItem). Default true.
  bool warn_loop_risk = true;
};

// Reads the "taskSpawner" section of the policy configuration.
void ParseTaskSpawnerOptions(ConfigReader reader, TaskSpawnerOptions* out);

// Validates kelos.dev TaskSpawner (v1alpha1, v1alpha2) on CREATE and UPDATE:
// spec.failurePolicy, every poll interval, spec.taskTemplate.ttlSecondsAfterFinished,
// and warns about recreate loops. All problems are reported in one 422 denial; UPDATE
// ratchets values that were already stored unchanged (see FieldRules).
Decision ValidateTaskSpawner(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
