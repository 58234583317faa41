#pragma once

#include "policy/admission_request.h"
#include "policy/config_reader.h"
#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// Limits for agent.benjamin-borbe.de Config validation.
struct ExecutorConfigOptions {};

// Reads the "executorConfig" section of the policy configuration.
void ParseExecutorConfigOptions(ConfigReader reader, ExecutorConfigOptions* out);

Decision ValidateExecutorConfig(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
