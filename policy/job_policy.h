#pragma once

#include "policy/admission_request.h"
#include "policy/config_reader.h"
#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// Job and CronJob mutation: activeDeadlineSeconds and imagePullPolicy.
struct JobOptions {};

// Reads the "jobs" section of the policy configuration.
void ParseJobOptions(ConfigReader reader, JobOptions* out);

Decision MutateJob(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
