#include "policy/taskspawner_policy.h"

#include "policy/engine.h"

namespace backstop::policy {

void ParseTaskSpawnerOptions(ConfigReader reader, TaskSpawnerOptions* /*out*/) { reader.RejectUnknown(); }

Decision ValidateTaskSpawner(const AdmissionRequest& /*request*/, const PolicyContext& /*context*/) {
  return Decision::Allowed();
}

}  // namespace backstop::policy
