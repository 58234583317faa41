#include "policy/executor_config_policy.h"

#include "policy/engine.h"

namespace backstop::policy {

void ParseExecutorConfigOptions(ConfigReader reader, ExecutorConfigOptions* /*out*/) { reader.RejectUnknown(); }

Decision ValidateExecutorConfig(const AdmissionRequest& /*request*/, const PolicyContext& /*context*/) {
  return Decision::Allowed();
}

}  // namespace backstop::policy
