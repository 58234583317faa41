#include "policy/job_policy.h"

#include "policy/engine.h"

namespace backstop::policy {

void ParseJobOptions(ConfigReader reader, JobOptions* /*out*/) { reader.RejectUnknown(); }

Decision MutateJob(const AdmissionRequest& /*request*/, const PolicyContext& /*context*/) {
  return Decision::Allowed();
}

}  // namespace backstop::policy
