#pragma once

#include "policy/admission_request.h"
#include "policy/config_reader.h"
#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// Image admission for Pods and pod templates of Jobs and CronJobs.
struct ImageOptions {};

// Reads the "images" section of the policy configuration.
void ParseImageOptions(ConfigReader reader, ImageOptions* out);

Decision ValidatePodImages(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
