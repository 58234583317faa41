#pragma once

#include <cstdint>

#include "base/config_reader.h"
#include "policy/admission_request.h"
#include "policy/decision.h"

namespace backstop::policy {

struct PolicyContext;

// The executor's own floors and defaults for its zombie-detection knobs; values below
// the floors are rejected by the executor itself.
inline constexpr int64_t kZombieSweeperIntervalFloor = 10;
inline constexpr int64_t kZombieSweeperIntervalDefault = 60;
inline constexpr int64_t kZombieJobTimeoutFloor = 30;
inline constexpr int64_t kZombieJobTimeoutDefault = 1800;

// Limits for agent.benjamin-borbe.de Config validation (config section "executorConfig").
struct ExecutorConfigOptions {
  // key maxZombieSweeperIntervalSeconds: highest accepted
  // spec.zombieSweeperIntervalSeconds. Default 3600 (1h).
  int64_t max_zombie_sweeper_interval_seconds = 3600;
  // key maxZombieJobTimeoutSeconds: highest accepted spec.zombieJobTimeoutSeconds.
  // Default 604800 (7 days).
  int64_t max_zombie_job_timeout_seconds = 604800;
};

// Reads the "executorConfig" section of the policy configuration.
void ParseExecutorConfigOptions(ConfigReader reader, ExecutorConfigOptions* out);

// Validates agent.benjamin-borbe.de Config on CREATE and UPDATE: the zombie sweeper
// interval and job timeout (integers, executor floors, configured ceilings), and warns
// when the sweep interval is not below the job timeout. All problems in one 422 denial;
// UPDATE ratchets unchanged stored values (see FieldRules).
Decision ValidateExecutorConfig(const AdmissionRequest& request, const PolicyContext& context);

}  // namespace backstop::policy
