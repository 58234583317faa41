#pragma once

#include "policy/admission_request.h"
#include "policy/config_reader.h"
#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// Limits for kelos.dev TaskSpawner validation.
struct TaskSpawnerOptions {};

// Reads the "taskSpawner" section of the policy configuration.
void ParseTaskSpawnerOptions(ConfigReader reader, TaskSpawnerOptions* out);

Decision ValidateTaskSpawner(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
